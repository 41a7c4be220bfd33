/// The BACnet Virtual Link Control header of a BACnet/IP datagram (ASHRAE 135 Annex J):
/// `0x81`, a function, the total length, then the function's payload.
public enum BVLC: Sendable, Equatable {
    /// BVLC-Result: 0 = success, otherwise the NAK code of the request it answers.
    case result(code: UInt16)
    case originalUnicast(npdu: ArraySlice<UInt8>)
    case originalBroadcast(npdu: ArraySlice<UInt8>)
    /// An NPDU a BBMD forwarded for `source` (the original sender; reply to it, not to the BBMD).
    case forwarded(source: BACnetIPAddress, npdu: ArraySlice<UInt8>)
    /// Register-Foreign-Device with a time-to-live in seconds.
    case registerForeignDevice(timeToLive: UInt16)
    case distributeBroadcastToNetwork(npdu: ArraySlice<UInt8>)
    /// A BBMD management function Plenum does not act on (Read-BDT, Read-FDT, …).
    case other(function: UInt8, payload: ArraySlice<UInt8>)

    public static let type: UInt8 = 0x81
    /// The largest datagram accepted: a 1476-byte APDU with the largest NPDU and BVLC headers.
    public static let maxDatagram = 1_600

    /// The NPDU this message carries, if any.
    public var npdu: ArraySlice<UInt8>? {
        switch self {
        case .originalUnicast(let npdu), .originalBroadcast(let npdu), .forwarded(_, let npdu),
            .distributeBroadcastToNetwork(let npdu):
            npdu
        case .result, .registerForeignDevice, .other: nil
        }
    }

    public static func decode(_ datagram: ArraySlice<UInt8>) throws(BACnetDecodingError) -> BVLC {
        var reader = ByteReader(datagram)
        let type = try reader.u8("BVLC type")
        guard type == Self.type else { throw .malformed("BVLC type 0x\(String(type, radix: 16)) is not BACnet/IP") }
        let function = try reader.u8("BVLC function")
        let length = Int(try reader.u16("BVLC length"))
        guard length == datagram.count else {
            throw .malformed("BVLC length \(length) but the datagram has \(datagram.count) bytes")
        }
        switch function {
        case 0x00:
            let code = try reader.u16("BVLC result code")
            try reader.expectEnd("BVLC-Result")
            return .result(code: code)
        case 0x04:
            let host = try reader.u32("forwarded source address")
            let port = try reader.u16("forwarded source port")
            return .forwarded(source: BACnetIPAddress(host: host, port: port), npdu: reader.rest())
        case 0x05:
            let ttl = try reader.u16("time-to-live")
            try reader.expectEnd("Register-Foreign-Device")
            return .registerForeignDevice(timeToLive: ttl)
        case 0x09: return .distributeBroadcastToNetwork(npdu: reader.rest())
        case 0x0A: return .originalUnicast(npdu: reader.rest())
        case 0x0B: return .originalBroadcast(npdu: reader.rest())
        case 0x01...0x08, 0x0C: return .other(function: function, payload: reader.rest())
        default: throw .malformed("unknown BVLC function 0x\(String(function, radix: 16))")
        }
    }

    public static func decode(_ datagram: [UInt8]) throws(BACnetDecodingError) -> BVLC { try decode(datagram[...]) }

    /// The datagram for this message.
    public func encode() -> [UInt8] {
        var payload = ByteWriter()
        let function: UInt8
        switch self {
        case .result(let code):
            function = 0x00
            payload.u16(code)
        case .originalUnicast(let npdu):
            function = 0x0A
            payload.append(npdu)
        case .originalBroadcast(let npdu):
            function = 0x0B
            payload.append(npdu)
        case .forwarded(let source, let npdu):
            function = 0x04
            payload.append(source.bytes)
            payload.append(npdu)
        case .registerForeignDevice(let ttl):
            function = 0x05
            payload.u16(ttl)
        case .distributeBroadcastToNetwork(let npdu):
            function = 0x09
            payload.append(npdu)
        case .other(let code, let bytes):
            function = code
            payload.append(bytes)
        }
        var out = ByteWriter(capacity: payload.bytes.count + 4)
        out.u8(Self.type)
        out.u8(function)
        out.u16(UInt16(truncatingIfNeeded: payload.bytes.count + 4))
        out.append(payload.bytes)
        return out.bytes
    }
}
