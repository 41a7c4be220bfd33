/// The header of one encoded BACnet value (ASHRAE 135 clause 20.2.1): tag number, class, and a
/// length — or, for context tags, an opening/closing marker of constructed data.
struct BACnetTag: Equatable {
    enum Kind: Equatable {
        /// A primitive value of `length` content bytes. For an application-tagged boolean the
        /// "length" is the value itself (0 or 1) and no content follows.
        case primitive(length: Int)
        case opening
        case closing
    }

    var number: UInt8
    var isContext: Bool
    var kind: Kind

    /// Content lengths above this are refused before any allocation (no BACnet/IP datagram is
    /// longer than 1497 bytes; this leaves room for any link).
    static let maxLength = 65_535

    /// Reads one tag header.
    static func decode(_ reader: inout ByteReader) throws(BACnetDecodingError) -> BACnetTag {
        let first = try reader.u8("tag")
        var number = first >> 4
        if number == 0x0F {
            number = try reader.u8("extended tag number")
            guard number != 0xFF else { throw .malformed("tag number 255 is reserved") }
        }
        let isContext = first & 0x08 != 0
        let lvt = first & 0x07
        switch lvt {
        case 6, 7:
            guard isContext else {
                throw .malformed("application tag \(number) marked as \(lvt == 6 ? "opening" : "closing")")
            }
            return BACnetTag(number: number, isContext: true, kind: lvt == 6 ? .opening : .closing)
        case 5:
            let short = try reader.u8("extended length")
            let length: Int
            switch short {
            case 254: length = Int(try reader.u16("extended length"))
            case 255:
                let long = try reader.u32("extended length")
                guard long <= UInt32(maxLength) else { throw .malformed("value length \(long) is too long") }
                length = Int(long)
            default: length = Int(short)
            }
            return BACnetTag(number: number, isContext: isContext, kind: .primitive(length: length))
        default:
            return BACnetTag(number: number, isContext: isContext, kind: .primitive(length: Int(lvt)))
        }
    }

    /// Reads the next tag without consuming it; nil at the end of input.
    static func peek(_ reader: ByteReader) throws(BACnetDecodingError) -> BACnetTag? {
        if reader.isAtEnd { return nil }
        var copy = reader
        return try decode(&copy)
    }

    func isOpening(_ tag: UInt8) -> Bool { isContext && kind == .opening && number == tag }
    func isClosing(_ tag: UInt8) -> Bool { isContext && kind == .closing && number == tag }
    func isContextPrimitive(_ tag: UInt8) -> Bool {
        guard isContext, number == tag, case .primitive = kind else { return false }
        return true
    }

    /// The content length of a primitive tag (0 for opening/closing).
    var length: Int {
        if case .primitive(let length) = kind { return length }
        return 0
    }
}

extension ByteWriter {
    /// A tag header for a primitive value of `length` bytes (or an application boolean's value).
    mutating func tag(_ number: UInt8, context: Bool, length: Int) {
        let classBit: UInt8 = context ? 0x08 : 0
        let lvt: UInt8 = length <= 4 ? UInt8(length) : 5
        if number <= 14 {
            u8(number << 4 | classBit | lvt)
        } else {
            u8(0xF0 | classBit | lvt)
            u8(number)
        }
        guard length > 4 else { return }
        if length <= 253 {
            u8(UInt8(length))
        } else if length <= 65_535 {
            u8(254)
            u16(UInt16(length))
        } else {
            u8(255)
            u32(UInt32(truncatingIfNeeded: length))
        }
    }

    mutating func opening(_ number: UInt8) { number <= 14 ? u8(number << 4 | 0x0E) : append([0xFE, number]) }
    mutating func closing(_ number: UInt8) { number <= 14 ? u8(number << 4 | 0x0F) : append([0xFF, number]) }
}
