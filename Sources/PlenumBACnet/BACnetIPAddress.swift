/// A BACnet/IP address: IPv4 host and UDP port (the 6-byte B/IP address of Annex J).
public struct BACnetIPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IPv4 address, most significant byte first (192.168.1.10 = 0xC0A8010A).
    public var host: UInt32
    public var port: UInt16

    /// The standard BACnet/IP port, 47808 (0xBAC0).
    public static let standardPort: UInt16 = 47_808

    public init(host: UInt32, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `192.168.1.10:47808`, or `192.168.1.10` for the standard port.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var host: UInt32 = 0
        for octet in octets {
            guard octet.count <= 3, let value = UInt8(octet) else { return nil }
            host = host << 8 | UInt32(value)
        }
        var port = Self.standardPort
        if parts.count == 2 {
            guard let value = UInt16(parts[1]), value > 0 else { return nil }
            port = value
        }
        self.init(host: host, port: port)
    }

    public var description: String {
        "\(host >> 24).\((host >> 16) & 0xFF).\((host >> 8) & 0xFF).\(host & 0xFF):\(port)"
    }

    /// The 6 bytes of a Forwarded-NPDU's original source.
    var bytes: [UInt8] {
        [
            UInt8(host >> 24), UInt8((host >> 16) & 0xFF), UInt8((host >> 8) & 0xFF), UInt8(host & 0xFF),
            UInt8(port >> 8), UInt8(port & 0xFF),
        ]
    }
}
