public import PlenumConfig
import PlenumCore

/// The short text `plenum check` prints for a valid configuration.
public enum ConfigSummary {
    public static func render(_ config: HubConfig, file: String) -> String {
        var lines: [String] = []
        let server = config.server
        lines.append("\(file): OK")
        lines.append(
            "server: \(server.host):\(server.port), tick \(server.tickMilliseconds) ms, "
                + "up to \(server.maxConnections) connections"
        )
        lines.append("access: \(access(config))")
        lines.append("channels: history \(config.channels.history) versions")
        let trends = config.trends
        if trends.enabled {
            let raw = trends.prefixes.filter { $0.value.raw == true }.count
            lines.append(
                "trends: \(trends.path), aggregates \(trends.aggregateRetentionSeconds / 86_400) d, "
                    + (trends.raw ? "raw samples of every channel" : "raw samples under \(raw) prefix(es)")
            )
        } else {
            lines.append("trends: off")
        }
        lines.append("devices: \(config.devices.count)")
        let nameWidth = config.devices.map(\.name.count).max() ?? 0
        let prefixWidth = config.devices.map(\.prefix.string.count).max() ?? 0
        for device in config.devices {
            let name = padded(device.name, to: nameWidth)
            let prefix = padded(device.prefix.string, to: prefixWidth)
            lines.append("  \(name)  \(prefix)  \(device.script)")
        }
        let writable = config.devices.flatMap { device in device.writable.map { (device.name, $0) } }
        if !writable.isEmpty {
            let commands = config.commands
            lines.append(
                "writable: \(writable.count) channel\(writable.count == 1 ? "" : "s"), "
                    + "answered within \(WritableChannel.show(commands.timeoutSeconds)) s unless set, "
                    + "up to \(commands.maxQueued) waiting per device"
            )
            let pathWidth = writable.map(\.1.path.string.count).max() ?? 0
            for (device, channel) in writable {
                lines.append("  \(padded(channel.path.string, to: pathWidth))  \(describe(channel))  → \(device)")
            }
        }
        if !config.bridges.isEmpty {
            lines.append("site: \(config.site)")
            lines.append("bridges: \(config.bridges.count)")
            for bridge in config.bridges {
                let tls = bridge.tls == nil ? "" : ", TLS"
                let writes = bridge.downstream.map { ", writes as \($0.identity)" } ?? ""
                lines.append(
                    "  \(bridge.name)  \(bridge.host):\(bridge.port)  \(bridge.topicPrefix)  qos \(bridge.qos)\(tls)\(writes)"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `2 tokens (dashboard, control), TLS` or `anonymous, this machine only`.
    private static func access(_ config: HubConfig) -> String {
        var parts: [String]
        if let auth = config.auth {
            let names = auth.tokens.map(\.name).joined(separator: ", ")
            parts = ["\(auth.tokens.count) token\(auth.tokens.count == 1 ? "" : "s") (\(names))"]
            parts.append("metrics \(auth.metrics.rawValue), health \(auth.health.rawValue)")
        } else {
            parts = [config.server.bindsLoopbackOnly ? "anonymous, this machine only" : "anonymous (allow_anonymous)"]
        }
        parts.append(config.server.tls == nil ? "plaintext" : "TLS")
        return parts.joined(separator: ", ")
    }

    /// `number 4…12`, `enum auto|on|off`, `boolean, 6 per 60 s, timeout 10 s`.
    private static func describe(_ channel: WritableChannel) -> String {
        var text: String
        switch channel.kind {
        case .enumeration(let values): text = "enum " + values.joined(separator: "|")
        default: text = channel.kind.description
        }
        if channel.minimum != nil || channel.maximum != nil {
            text +=
                " " + (channel.minimum.map(WritableChannel.show) ?? "") + "…"
                + (channel.maximum.map(WritableChannel.show) ?? "")
        }
        if let rate = channel.rateLimit { text += ", \(rate.count) per \(WritableChannel.show(rate.seconds)) s" }
        if let timeout = channel.timeoutSeconds { text += ", timeout \(WritableChannel.show(timeout)) s" }
        return text
    }

    private static func padded(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}
