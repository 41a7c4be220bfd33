/// The network-layer header (ASHRAE 135 clause 6.2): version 1, a control byte, optional
/// destination and source network addresses (for devices behind a BACnet router), then either an
/// APDU or a network-layer message.
public struct NPDU: Sendable, Equatable {
    /// A device on another BACnet network: network number and MAC address on that network.
    /// An empty `mac` in a destination means "broadcast on that network".
    public struct RemoteAddress: Hashable, Sendable, CustomStringConvertible {
        public var network: UInt16
        public var mac: [UInt8]

        public init(network: UInt16, mac: [UInt8]) {
            self.network = network
            self.mac = mac
        }

        public var description: String {
            "\(network)/\(mac.hexString)"
        }
    }

    public enum Payload: Sendable, Equatable {
        case apdu(ArraySlice<UInt8>)
        /// A network-layer message (Who-Is-Router-To-Network, …): Plenum recognises, never acts on them.
        case networkMessage(type: UInt8, vendorID: UInt16?, data: ArraySlice<UInt8>)
    }

    public var expectingReply: Bool
    /// 0 normal, 1 urgent, 2 critical equipment, 3 life safety.
    public var priority: UInt8
    public var destination: RemoteAddress?
    public var source: RemoteAddress?
    public var hopCount: UInt8
    public var payload: Payload

    public init(
        expectingReply: Bool = false,
        priority: UInt8 = 0,
        destination: RemoteAddress? = nil,
        source: RemoteAddress? = nil,
        hopCount: UInt8 = 255,
        payload: Payload
    ) {
        self.expectingReply = expectingReply
        self.priority = priority
        self.destination = destination
        self.source = source
        self.hopCount = hopCount
        self.payload = payload
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(BACnetDecodingError) -> NPDU {
        var reader = ByteReader(bytes)
        let version = try reader.u8("NPDU version")
        guard version == 1 else { throw .malformed("NPDU version \(version), expected 1") }
        let control = try reader.u8("NPDU control")
        guard control & 0x50 == 0 else {
            throw .malformed("NPDU control 0x\(String(control, radix: 16)) sets reserved bits")
        }
        var destination: RemoteAddress?
        var source: RemoteAddress?
        if control & 0x20 != 0 {
            let network = try reader.u16("DNET")
            let length = Int(try reader.u8("DLEN"))
            destination = RemoteAddress(network: network, mac: Array(try reader.take(length, "DADR")))
        }
        if control & 0x08 != 0 {
            let network = try reader.u16("SNET")
            let length = Int(try reader.u8("SLEN"))
            guard length > 0 else { throw .malformed("source address with SLEN 0") }
            guard network != 0xFFFF else { throw .malformed("source network 65535") }
            source = RemoteAddress(network: network, mac: Array(try reader.take(length, "SADR")))
        }
        let hopCount = destination == nil ? 255 : try reader.u8("hop count")
        let payload: Payload
        if control & 0x80 != 0 {
            let type = try reader.u8("network message type")
            let vendor = type >= 0x80 ? try reader.u16("network message vendor") : nil
            payload = .networkMessage(type: type, vendorID: vendor, data: reader.rest())
        } else {
            guard !reader.isAtEnd else { throw .truncated("NPDU without an APDU") }
            payload = .apdu(reader.rest())
        }
        return NPDU(
            expectingReply: control & 0x04 != 0,
            priority: control & 0x03,
            destination: destination,
            source: source,
            hopCount: hopCount,
            payload: payload
        )
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        out.u8(1)
        var control: UInt8 = priority & 0x03
        if expectingReply { control |= 0x04 }
        if source != nil { control |= 0x08 }
        if destination != nil { control |= 0x20 }
        if case .networkMessage = payload { control |= 0x80 }
        out.u8(control)
        if let destination {
            out.u16(destination.network)
            out.u8(UInt8(truncatingIfNeeded: destination.mac.count))
            out.append(destination.mac.prefix(255))
        }
        if let source {
            out.u16(source.network)
            out.u8(UInt8(truncatingIfNeeded: source.mac.count))
            out.append(source.mac.prefix(255))
        }
        if destination != nil { out.u8(hopCount) }
        switch payload {
        case .apdu(let apdu): out.append(apdu)
        case .networkMessage(let type, let vendor, let data):
            out.u8(type)
            if let vendor { out.u16(vendor) }
            out.append(data)
        }
        return out.bytes
    }
}
