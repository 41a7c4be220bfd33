/// One BACnet value: the application types of clause 20.2, plus the generic shapes of
/// constructed data (context-tagged primitives and opening/closing groups), so a property of any
/// type decodes without a per-property schema.
public indirect enum BACnetValue: Sendable, Equatable {
    case null
    case boolean(Bool)
    case unsigned(UInt64)
    case signed(Int64)
    case real(Float)
    case double(Double)
    case octetString([UInt8])
    /// Character strings are UTF-8 (character set 0); other character sets are refused.
    case characterString(String)
    case bitString(BACnetBitString)
    case enumerated(UInt32)
    case date(BACnetDate)
    case time(BACnetTime)
    case objectIdentifier(BACnetObjectIdentifier)
    /// A context-tagged primitive inside constructed data: its tag and raw content.
    case context(tag: UInt8, data: [UInt8])
    /// Values between an opening and a closing context tag `tag`.
    case constructed(tag: UInt8, values: [BACnetValue])

    /// Constructed data nested deeper than this is refused (no standard property needs more
    /// than a handful of levels).
    public static let maxDepth = 16
    /// At most this many values are decoded from one property value.
    public static let maxValues = 4_096
}

/// A bit string: `bits[0]` is the first (most significant) bit on the wire.
public struct BACnetBitString: Sendable, Equatable {
    public var bits: [Bool]
    public init(_ bits: [Bool]) { self.bits = bits }
}

/// A date; 255 in any field means "unspecified" (any year, month, day or weekday).
public struct BACnetDate: Sendable, Equatable {
    /// Years since 1900 (255 = unspecified).
    public var yearSince1900: UInt8
    public var month: UInt8
    public var day: UInt8
    /// 1 = Monday … 7 = Sunday.
    public var weekday: UInt8

    public init(yearSince1900: UInt8, month: UInt8, day: UInt8, weekday: UInt8) {
        self.yearSince1900 = yearSince1900
        self.month = month
        self.day = day
        self.weekday = weekday
    }
}

/// A time of day; 255 in any field means "unspecified".
public struct BACnetTime: Sendable, Equatable {
    public var hour: UInt8
    public var minute: UInt8
    public var second: UInt8
    public var hundredths: UInt8

    public init(hour: UInt8, minute: UInt8, second: UInt8, hundredths: UInt8) {
        self.hour = hour
        self.minute = minute
        self.second = second
        self.hundredths = hundredths
    }
}

// MARK: - Decoding

extension BACnetValue {
    /// Decodes the values of a property up to (and including) closing tag `closing`: what
    /// sits between `[3]` and its closing tag in a ReadProperty-ACK, for example.
    static func decodeList(
        _ reader: inout ByteReader,
        closing: UInt8,
        depth: Int = 0
    ) throws(BACnetDecodingError) -> [BACnetValue] {
        guard depth < maxDepth else { throw .malformed("constructed data nested deeper than \(maxDepth)") }
        var values: [BACnetValue] = []
        while true {
            guard !reader.isAtEnd else { throw .truncated("missing closing tag [\(closing)]") }
            let tag = try BACnetTag.decode(&reader)
            switch tag.kind {
            case .closing:
                guard tag.number == closing else {
                    throw .malformed("closing tag [\(tag.number)] where [\(closing)] was expected")
                }
                return values
            case .opening:
                values.append(
                    .constructed(
                        tag: tag.number,
                        values: try decodeList(&reader, closing: tag.number, depth: depth + 1)
                    )
                )
            case .primitive(let length):
                if tag.isContext {
                    values.append(.context(tag: tag.number, data: Array(try reader.take(length, "context value"))))
                } else {
                    values.append(try decodeApplication(tag, &reader))
                }
            }
            guard values.count <= maxValues else { throw .malformed("more than \(maxValues) values") }
        }
    }

    /// Decodes one application-tagged value (its tag already read).
    static func decodeApplication(
        _ tag: BACnetTag,
        _ reader: inout ByteReader
    ) throws(BACnetDecodingError)
        -> BACnetValue
    {
        let length = tag.length
        if tag.number == 1 {
            guard length <= 1 else { throw .malformed("boolean with value \(length)") }
            return .boolean(length == 1)
        }
        let content = try reader.take(length, "application tag \(tag.number)")
        switch tag.number {
        case 0:
            guard length == 0 else { throw .malformed("null with \(length) content bytes") }
            return .null
        case 2: return .unsigned(try unsigned(content, "unsigned"))
        case 3: return .signed(try signed(content))
        case 4:
            guard length == 4 else { throw .malformed("real of \(length) bytes") }
            return .real(Float(bitPattern: UInt32(truncatingIfNeeded: try unsigned(content, "real"))))
        case 5:
            guard length == 8 else { throw .malformed("double of \(length) bytes") }
            return .double(Double(bitPattern: try unsigned(content, "double")))
        case 6: return .octetString(Array(content))
        case 7: return .characterString(try characterString(content))
        case 8: return .bitString(try bitString(content))
        case 9:
            guard length <= 4 else { throw .malformed("enumerated of \(length) bytes") }
            return .enumerated(UInt32(truncatingIfNeeded: try unsigned(content, "enumerated")))
        case 10:
            guard length == 4 else { throw .malformed("date of \(length) bytes") }
            let b = Array(content)
            return .date(BACnetDate(yearSince1900: b[0], month: b[1], day: b[2], weekday: b[3]))
        case 11:
            guard length == 4 else { throw .malformed("time of \(length) bytes") }
            let b = Array(content)
            return .time(BACnetTime(hour: b[0], minute: b[1], second: b[2], hundredths: b[3]))
        case 12:
            guard length == 4 else { throw .malformed("object identifier of \(length) bytes") }
            return .objectIdentifier(
                BACnetObjectIdentifier(rawValue: UInt32(truncatingIfNeeded: try unsigned(content, "object id")))
            )
        default:
            throw .malformed("reserved application tag \(tag.number)")
        }
    }

    /// A big-endian unsigned of 1…8 bytes.
    static func unsigned(_ content: ArraySlice<UInt8>, _ what: String) throws(BACnetDecodingError) -> UInt64 {
        guard (1...8).contains(content.count) else { throw .malformed("\(what) of \(content.count) bytes") }
        var value: UInt64 = 0
        for byte in content { value = value << 8 | UInt64(byte) }
        return value
    }

    /// A big-endian two's-complement signed of 1…8 bytes.
    static func signed(_ content: ArraySlice<UInt8>) throws(BACnetDecodingError) -> Int64 {
        let raw = try unsigned(content, "signed")
        let shift = UInt64(64 - 8 * content.count)
        return Int64(bitPattern: raw << shift) >> Int64(shift)
    }

    static func characterString(_ content: ArraySlice<UInt8>) throws(BACnetDecodingError) -> String {
        guard let charset = content.first else { throw .malformed("character string without a character set") }
        guard charset == 0 else {
            let names: [UInt8: String] = [
                1: "IBM/Microsoft DBCS", 2: "JIS X 0208", 3: "UCS-4", 4: "UCS-2", 5: "ISO 8859-1",
            ]
            throw .unsupported(
                "character set \(charset) (\(names[charset] ?? "unknown")); only UTF-8 (0) is supported"
            )
        }
        guard let text = String(validating: content.dropFirst(), as: UTF8.self) else {
            throw .malformed("character string is not valid UTF-8")
        }
        return text
    }

    static func bitString(_ content: ArraySlice<UInt8>) throws(BACnetDecodingError) -> BACnetBitString {
        guard let unused = content.first else { throw .malformed("bit string without its unused-bits count") }
        guard unused <= 7, !(content.count == 1 && unused != 0) else {
            throw .malformed("bit string with \(unused) unused bits in \(content.count - 1) bytes")
        }
        var bits: [Bool] = []
        bits.reserveCapacity((content.count - 1) * 8)
        for byte in content.dropFirst() {
            for bit in 0..<8 { bits.append(byte & (0x80 >> UInt8(bit)) != 0) }
        }
        bits.removeLast(Int(unused))
        return BACnetBitString(bits)
    }
}

// MARK: - Encoding

extension BACnetValue {
    /// Appends this value, application-tagged (context/constructed shapes keep their tags).
    func encode(into writer: inout ByteWriter) {
        switch self {
        case .null: writer.tag(0, context: false, length: 0)
        case .boolean(let value): writer.tag(1, context: false, length: value ? 1 : 0)
        case .unsigned(let value): writer.primitive(2, context: false, Self.minimalUnsigned(value))
        case .signed(let value): writer.primitive(3, context: false, Self.minimalSigned(value))
        case .real(let value): writer.primitive(4, context: false, Self.bigEndian(UInt64(value.bitPattern), 4))
        case .double(let value): writer.primitive(5, context: false, Self.bigEndian(value.bitPattern, 8))
        case .octetString(let bytes): writer.primitive(6, context: false, bytes)
        case .characterString(let text): writer.primitive(7, context: false, [0] + Array(text.utf8))
        case .bitString(let bits): writer.primitive(8, context: false, Self.bitStringContent(bits))
        case .enumerated(let value): writer.primitive(9, context: false, Self.minimalUnsigned(UInt64(value)))
        case .date(let d): writer.primitive(10, context: false, [d.yearSince1900, d.month, d.day, d.weekday])
        case .time(let t): writer.primitive(11, context: false, [t.hour, t.minute, t.second, t.hundredths])
        case .objectIdentifier(let id): writer.primitive(12, context: false, Self.bigEndian(UInt64(id.rawValue), 4))
        case .context(let tag, let data): writer.primitive(tag, context: true, data)
        case .constructed(let tag, let values):
            writer.opening(tag)
            for value in values { value.encode(into: &writer) }
            writer.closing(tag)
        }
    }

    static func bigEndian(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (count - 1 - $0))) }
    }

    static func minimalUnsigned(_ value: UInt64) -> [UInt8] {
        var count = 1
        while count < 8 && value >> UInt64(8 * count) != 0 { count += 1 }
        return bigEndian(value, count)
    }

    static func minimalSigned(_ value: Int64) -> [UInt8] {
        var count = 1
        while count < 8 {
            let shift = Int64(64 - 8 * count)
            if (value << shift) >> shift == value { break }
            count += 1
        }
        return bigEndian(UInt64(bitPattern: value), count)
    }

    static func bitStringContent(_ bits: BACnetBitString) -> [UInt8] {
        let count = (bits.bits.count + 7) / 8
        var bytes = [UInt8](repeating: 0, count: count + 1)
        bytes[0] = UInt8(count * 8 - bits.bits.count)
        for (i, bit) in bits.bits.enumerated() where bit { bytes[1 + i / 8] |= 0x80 >> UInt8(i % 8) }
        return bytes
    }
}

extension ByteWriter {
    mutating func primitive(_ tag: UInt8, context: Bool, _ content: [UInt8]) {
        self.tag(tag, context: context, length: content.count)
        append(content)
    }

    /// A context-tagged unsigned (also used for enumerations and booleans in service bodies).
    mutating func contextUnsigned(_ tag: UInt8, _ value: UInt64) {
        primitive(tag, context: true, BACnetValue.minimalUnsigned(value))
    }

    mutating func contextObjectIdentifier(_ tag: UInt8, _ id: BACnetObjectIdentifier) {
        primitive(tag, context: true, BACnetValue.bigEndian(UInt64(id.rawValue), 4))
    }
}
