public import PlenumConfig

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

    private static func padded(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}
