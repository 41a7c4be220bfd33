/// ReadPropertyMultiple (clause 15.7): several properties of several objects in one request.
public struct ReadPropertyMultiple: Sendable, Equatable {
    public struct PropertyReference: Sendable, Equatable {
        public var property: BACnetPropertyIdentifier
        public var index: UInt32?

        public init(_ property: BACnetPropertyIdentifier, index: UInt32? = nil) {
            self.property = property
            self.index = index
        }
    }

    public struct Specification: Sendable, Equatable {
        public var object: BACnetObjectIdentifier
        public var properties: [PropertyReference]

        public init(object: BACnetObjectIdentifier, properties: [PropertyReference]) {
            self.object = object
            self.properties = properties
        }
    }

    public var specifications: [Specification]

    public init(_ specifications: [Specification]) { self.specifications = specifications }

    /// At most this many objects or properties are decoded from one request or ACK.
    static let maxEntries = 1_024

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        for spec in specifications {
            out.contextObjectIdentifier(0, spec.object)
            out.opening(1)
            for reference in spec.properties {
                out.contextUnsigned(0, UInt64(reference.property.rawValue))
                if let index = reference.index { out.contextUnsigned(1, UInt64(index)) }
            }
            out.closing(1)
        }
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> ReadPropertyMultiple {
        var reader = ByteReader(body)
        var specifications: [Specification] = []
        while !reader.isAtEnd {
            let object = try reader.contextObjectIdentifier(0, "object identifier")
            try reader.opening(1, "list of property references")
            var properties: [PropertyReference] = []
            while try !reader.hasClosing(1) {
                let property = try reader.contextProperty(0)
                properties.append(
                    PropertyReference(property, index: try reader.optionalContextUInt32(1, "array index"))
                )
                guard properties.count <= maxEntries else { throw .malformed("more than \(maxEntries) properties") }
            }
            specifications.append(Specification(object: object, properties: properties))
            guard specifications.count <= maxEntries else { throw .malformed("more than \(maxEntries) objects") }
        }
        guard !specifications.isEmpty else { throw .truncated("ReadPropertyMultiple without any object") }
        return ReadPropertyMultiple(specifications)
    }
}

/// ReadPropertyMultiple-ACK: per object, per property, the value(s) or an access error.
public struct ReadPropertyMultipleACK: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var property: BACnetPropertyIdentifier
        public var index: UInt32?
        public var result: Result<[BACnetValue], BACnetErrorCode>

        public init(
            property: BACnetPropertyIdentifier,
            index: UInt32? = nil,
            result: Result<[BACnetValue], BACnetErrorCode>
        ) {
            self.property = property
            self.index = index
            self.result = result
        }
    }

    public struct ObjectResult: Sendable, Equatable {
        public var object: BACnetObjectIdentifier
        public var items: [Item]

        public init(object: BACnetObjectIdentifier, items: [Item]) {
            self.object = object
            self.items = items
        }
    }

    public var results: [ObjectResult]

    public init(_ results: [ObjectResult]) { self.results = results }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        for result in results {
            out.contextObjectIdentifier(0, result.object)
            out.opening(1)
            for item in result.items {
                out.contextUnsigned(2, UInt64(item.property.rawValue))
                if let index = item.index { out.contextUnsigned(3, UInt64(index)) }
                switch item.result {
                case .success(let values):
                    out.opening(4)
                    for value in values { value.encode(into: &out) }
                    out.closing(4)
                case .failure(let error):
                    out.opening(5)
                    error.encode(into: &out)
                    out.closing(5)
                }
            }
            out.closing(1)
        }
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> ReadPropertyMultipleACK {
        var reader = ByteReader(body)
        var results: [ObjectResult] = []
        while !reader.isAtEnd {
            let object = try reader.contextObjectIdentifier(0, "object identifier")
            try reader.opening(1, "list of results")
            var items: [Item] = []
            while try !reader.hasClosing(1) {
                let property = try reader.contextProperty(2)
                let index = try reader.optionalContextUInt32(3, "array index")
                if try reader.hasOpening(4) {
                    let values = try BACnetValue.decodeList(&reader, closing: 4)
                    items.append(Item(property: property, index: index, result: .success(values)))
                } else if try reader.hasOpening(5) {
                    let error = try BACnetErrorCode.decodePair(&reader)
                    guard try reader.hasClosing(5) else { throw .malformed("property access error not closed") }
                    items.append(Item(property: property, index: index, result: .failure(error)))
                } else {
                    throw .malformed("read result of \(property) has neither a value [4] nor an error [5]")
                }
                guard items.count <= ReadPropertyMultiple.maxEntries else { throw .malformed("too many results") }
            }
            results.append(ObjectResult(object: object, items: items))
            guard results.count <= ReadPropertyMultiple.maxEntries else { throw .malformed("too many objects") }
        }
        return ReadPropertyMultipleACK(results)
    }
}

extension BACnetErrorCode: Error {}
