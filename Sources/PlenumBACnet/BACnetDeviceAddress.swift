/// Where a device is reached: its B/IP address, or — for a device behind a BACnet router — the
/// router's B/IP address and the device's network and MAC address.
public struct BACnetDeviceAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: BACnetIPAddress
    public var remote: NPDU.RemoteAddress?

    public init(ip: BACnetIPAddress, remote: NPDU.RemoteAddress? = nil) {
        self.ip = ip
        self.remote = remote
    }

    /// `192.168.1.10:47808`, or `192.168.1.10:47808 via network 5/0a` for a routed device.
    public var description: String {
        guard let remote else { return ip.description }
        return "\(ip) via network \(remote)"
    }
}
