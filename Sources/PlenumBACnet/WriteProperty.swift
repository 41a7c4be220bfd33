/// WriteProperty (clause 15.9): a value for one property, at a command priority (1 highest …
/// 16 lowest) for commandable properties. Writing NULL at a priority relinquishes that slot.
public struct WriteProperty: Sendable, Equatable {
    public var object: BACnetObjectIdentifier
    public var property: BACnetPropertyIdentifier
    public var index: UInt32?
    public var values: [BACnetValue]
    public var priority: UInt8?

    public init(
        object: BACnetObjectIdentifier,
        property: BACnetPropertyIdentifier,
        index: UInt32? = nil,
        values: [BACnetValue],
        priority: UInt8? = nil
    ) {
        self.object = object
        self.property = property
        self.index = index
        self.values = values
        self.priority = priority
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        out.propertyValue(object: object, property: property, index: index, values: values)
        if let priority { out.contextUnsigned(4, UInt64(priority)) }
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> WriteProperty {
        var reader = ByteReader(body)
        let object = try reader.contextObjectIdentifier(0, "object identifier")
        let property = try reader.contextProperty(1)
        let index = try reader.optionalContextUInt32(2, "array index")
        try reader.opening(3, "property value")
        let values = try BACnetValue.decodeList(&reader, closing: 3)
        let priority = try reader.optionalContextUnsigned(4, "priority", max: 16)
        try reader.expectEnd("WriteProperty")
        if priority == 0 { throw .malformed("priority 0 (priorities are 1…16)") }
        return WriteProperty(
            object: object,
            property: property,
            index: index,
            values: values,
            priority: priority.map { UInt8(truncatingIfNeeded: $0) }
        )
    }
}
