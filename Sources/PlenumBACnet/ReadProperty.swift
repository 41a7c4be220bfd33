/// ReadProperty (clause 15.5): one property of one object, optionally one array element.
public struct ReadProperty: Sendable, Equatable {
    public var object: BACnetObjectIdentifier
    public var property: BACnetPropertyIdentifier
    public var index: UInt32?

    public init(object: BACnetObjectIdentifier, property: BACnetPropertyIdentifier, index: UInt32? = nil) {
        self.object = object
        self.property = property
        self.index = index
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        out.contextObjectIdentifier(0, object)
        out.contextUnsigned(1, UInt64(property.rawValue))
        if let index { out.contextUnsigned(2, UInt64(index)) }
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> ReadProperty {
        var reader = ByteReader(body)
        let request = ReadProperty(
            object: try reader.contextObjectIdentifier(0, "object identifier"),
            property: try reader.contextProperty(1),
            index: try reader.optionalContextUInt32(2, "array index")
        )
        try reader.expectEnd("ReadProperty")
        return request
    }
}

/// ReadProperty-ACK: the value(s) read. A list or array property read whole has several values.
public struct ReadPropertyACK: Sendable, Equatable {
    public var object: BACnetObjectIdentifier
    public var property: BACnetPropertyIdentifier
    public var index: UInt32?
    public var values: [BACnetValue]

    public init(
        object: BACnetObjectIdentifier,
        property: BACnetPropertyIdentifier,
        index: UInt32? = nil,
        values: [BACnetValue]
    ) {
        self.object = object
        self.property = property
        self.index = index
        self.values = values
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        out.propertyValue(object: object, property: property, index: index, values: values)
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> ReadPropertyACK {
        var reader = ByteReader(body)
        let object = try reader.contextObjectIdentifier(0, "object identifier")
        let property = try reader.contextProperty(1)
        let index = try reader.optionalContextUInt32(2, "array index")
        try reader.opening(3, "property value")
        let values = try BACnetValue.decodeList(&reader, closing: 3)
        try reader.expectEnd("ReadProperty-ACK")
        return ReadPropertyACK(object: object, property: property, index: index, values: values)
    }
}

extension ByteWriter {
    /// Object, property, optional array index and the value list in context tags 0-3: the body
    /// a ReadProperty-ACK and a WriteProperty-Request share.
    mutating func propertyValue(
        object: BACnetObjectIdentifier,
        property: BACnetPropertyIdentifier,
        index: UInt32?,
        values: [BACnetValue]
    ) {
        contextObjectIdentifier(0, object)
        contextUnsigned(1, UInt64(property.rawValue))
        if let index { contextUnsigned(2, UInt64(index)) }
        opening(3)
        for value in values { value.encode(into: &self) }
        closing(3)
    }
}
