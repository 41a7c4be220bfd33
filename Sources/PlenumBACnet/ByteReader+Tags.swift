/// Reading the context-tagged fields of service requests and acknowledgements.
extension ByteReader {
    /// The next tag, which must be context tag `tag` holding a primitive; its content.
    mutating func contextContent(_ tag: UInt8, _ what: String) throws(BACnetDecodingError) -> ArraySlice<UInt8> {
        guard let next = try BACnetTag.peek(self) else { throw .truncated("missing \(what) [\(tag)]") }
        guard next.isContextPrimitive(tag) else { throw .malformed("expected \(what) [\(tag)], found \(next)") }
        _ = try BACnetTag.decode(&self)
        return try take(next.length, what)
    }

    /// True when the next tag is context primitive `tag` (nothing is consumed).
    mutating func hasContext(_ tag: UInt8) throws(BACnetDecodingError) -> Bool {
        guard let next = try BACnetTag.peek(self) else { return false }
        return next.isContextPrimitive(tag)
    }

    mutating func contextUnsigned(
        _ tag: UInt8,
        _ what: String,
        max: UInt64 = .max
    ) throws(BACnetDecodingError)
        -> UInt64
    {
        let value = try BACnetValue.unsigned(try contextContent(tag, what), what)
        guard value <= max else { throw .malformed("\(what) \(value) is above \(max)") }
        return value
    }

    mutating func optionalContextUnsigned(
        _ tag: UInt8,
        _ what: String,
        max: UInt64 = .max
    )
        throws(BACnetDecodingError) -> UInt64?
    {
        try hasContext(tag) ? try contextUnsigned(tag, what, max: max) : nil
    }

    mutating func contextUInt32(_ tag: UInt8, _ what: String) throws(BACnetDecodingError) -> UInt32 {
        UInt32(truncatingIfNeeded: try contextUnsigned(tag, what, max: UInt64(UInt32.max)))
    }

    mutating func optionalContextUInt32(_ tag: UInt8, _ what: String) throws(BACnetDecodingError) -> UInt32? {
        try hasContext(tag) ? try contextUInt32(tag, what) : nil
    }

    mutating func contextObjectIdentifier(
        _ tag: UInt8,
        _ what: String
    ) throws(BACnetDecodingError)
        -> BACnetObjectIdentifier
    {
        let content = try contextContent(tag, what)
        guard content.count == 4 else { throw .malformed("\(what) of \(content.count) bytes") }
        return BACnetObjectIdentifier(rawValue: UInt32(truncatingIfNeeded: try BACnetValue.unsigned(content, what)))
    }

    mutating func contextProperty(_ tag: UInt8) throws(BACnetDecodingError) -> BACnetPropertyIdentifier {
        let raw = try contextUnsigned(tag, "property identifier", max: 0x3F_FFFF)
        guard let property = BACnetPropertyIdentifier(rawValue: UInt32(truncatingIfNeeded: raw)) else {
            throw .malformed("property identifier \(raw)")
        }
        return property
    }

    mutating func contextBoolean(_ tag: UInt8, _ what: String) throws(BACnetDecodingError) -> Bool {
        let content = try contextContent(tag, what)
        guard content.count == 1, let byte = content.first, byte <= 1 else {
            throw .malformed("\(what) is not a boolean")
        }
        return byte == 1
    }

    /// Consumes opening tag `tag` or throws.
    mutating func opening(_ tag: UInt8, _ what: String) throws(BACnetDecodingError) {
        guard let next = try BACnetTag.peek(self) else { throw .truncated("missing \(what) [\(tag)]") }
        guard next.isOpening(tag) else { throw .malformed("expected opening tag of \(what) [\(tag)], found \(next)") }
        _ = try BACnetTag.decode(&self)
    }

    /// True (and consumed) when the next tag opens `tag`.
    mutating func hasOpening(_ tag: UInt8) throws(BACnetDecodingError) -> Bool {
        guard let next = try BACnetTag.peek(self), next.isOpening(tag) else { return false }
        _ = try BACnetTag.decode(&self)
        return true
    }

    /// True (and consumed) when the next tag closes `tag`.
    mutating func hasClosing(_ tag: UInt8) throws(BACnetDecodingError) -> Bool {
        guard let next = try BACnetTag.peek(self), next.isClosing(tag) else { return false }
        _ = try BACnetTag.decode(&self)
        return true
    }

    /// The next application-tagged value, which must exist.
    mutating func applicationValue(_ what: String) throws(BACnetDecodingError) -> BACnetValue {
        guard !isAtEnd else { throw .truncated("missing \(what)") }
        let tag = try BACnetTag.decode(&self)
        guard !tag.isContext else { throw .malformed("expected an application-tagged \(what), found \(tag)") }
        return try BACnetValue.decodeApplication(tag, &self)
    }

    /// Fails unless every byte was used: trailing bytes mean the packet is not what it claims.
    func expectEnd(_ what: String) throws(BACnetDecodingError) {
        guard isAtEnd else { throw .malformed("\(remaining) unexpected bytes after \(what)") }
    }
}

extension BACnetTag: CustomStringConvertible {
    var description: String {
        let name = isContext ? "context tag [\(number)]" : "application tag \(number)"
        switch kind {
        case .opening: return "opening " + name
        case .closing: return "closing " + name
        case .primitive: return name
        }
    }
}
