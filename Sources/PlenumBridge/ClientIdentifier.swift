import Glibc

/// The default MQTT client identifier of a bridge: `plenum-<site>-<bridge>-<suffix>`.
///
/// A broker lets one connection per identifier live: a second client with the same one takes
/// over and the first is disconnected. The identifier must therefore differ between two hubs
/// on one machine and between two gateways given the same site name — and stay the same when a
/// hub restarts, so that its new connection replaces a half-open old one at once (whose last
/// will would otherwise say `offline` later, over the new `online`). The suffix is a hash of the
/// machine's id (`/etc/machine-id`) and the hub's instance (its configuration file's path and
/// port), so it is all three.
public enum ClientIdentifier {
    public static func make(site: String, bridge: String, machineID: String?, instance: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(machineID ?? "")|\(instance)|\(bridge)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash >> 32, radix: 16)
        return "plenum-\(site)-\(bridge)-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The systemd/D-Bus machine id, or nil where there is none.
    public static func machineID() -> String? {
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            guard let file = fopen(path, "r") else { continue }
            defer { fclose(file) }
            var buffer = [CChar](repeating: 0, count: 128)
            guard fgets(&buffer, Int32(buffer.count), file) != nil else { continue }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingSuffix { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
            if !text.isEmpty { return text }
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = Substring(self)
        while let last = text.last, predicate(last) { text = text.dropLast() }
        return String(text)
    }
}
