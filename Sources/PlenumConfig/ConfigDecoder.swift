import FoundationEssentials
import PlenumCore

/// Walks the YAML tree into `HubConfig`, collecting diagnostics instead of stopping at the first.
struct ConfigDecoder {
    let file: String
    let baseDirectory: String
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, baseDirectory: String) {
        self.file = file
        self.baseDirectory = baseDirectory
    }

    func diagnostic(
        _ code: ConfigDiagnostic.Code,
        _ mark: SourceMark,
        _ keyPath: String,
        _ message: String
    )
        -> ConfigDiagnostic
    {
        ConfigDiagnostic(
            code: code,
            file: file,
            line: mark.line,
            column: mark.column,
            keyPath: keyPath,
            message: message
        )
    }

    mutating func report(_ code: ConfigDiagnostic.Code, _ node: YAMLNode, _ keyPath: String, _ message: String) {
        diagnostics.append(diagnostic(code, node.mark, keyPath, message))
    }

    // MARK: - The schema

    mutating func decodeHub(_ root: YAMLNode) -> HubConfig {
        var config = HubConfig()
        let keys = ["server", "channels", "devices", "trends", "commands", "site", "bridges", "auth"]
        guard let top = mapping(root, "", keys: keys, what: "the top level") else {
            return config
        }
        if let node = top["server"] { config.server = decodeServer(node) }
        config.server.dashboardPath = resolvePath(config.server.dashboard)
        if let node = top["channels"] { config.channels = decodeChannels(node) }
        if let node = top["devices"] { config.devices = decodeDevices(node) }
        if let node = top["trends"] { config.trends = decodeTrends(node) }
        if let node = top["commands"] { config.commands = decodeCommands(node) }
        config.site = decodeSite(top["site"])
        if let node = top["bridges"] { config.bridges = decodeBridges(node, site: config.site) }
        if let node = top["auth"] { config.auth = decodeAuth(node) }
        checkAnonymousBind(config, server: top["server"])
        return config
    }

    private mutating func decodeServer(_ node: YAMLNode) -> ServerConfig {
        var server = ServerConfig()
        let keys =
            [
                "host", "port", "tick_ms", "event_loops", "max_connections", "max_subscriptions", "max_message_bytes",
                "max_pending_bytes", "max_subscription_bytes", "header_timeout_ms", "idle_timeout_ms",
                "ping_interval_ms", "max_pending_writes", "dashboard", "chart_js", "direct_sends",
            ] + Self.serverSecurityKeys
        guard let map = mapping(node, "server", keys: keys, what: "'server'") else { return server }
        decodeServerSecurity(map, into: &server)
        if let n = map["host"], let v = string(n, "server.host") {
            if v.isEmpty || v.contains(where: \.isWhitespace) {
                report(
                    .outOfRange,
                    n,
                    "server.host",
                    "expected an IP address or host name such as 0.0.0.0 or 127.0.0.1"
                )
            } else {
                server.host = v
            }
        }
        integer(map["port"], "server.port", ServerConfig.portRange, into: &server.port)
        integer(map["tick_ms"], "server.tick_ms", ServerConfig.tickMillisecondsRange, into: &server.tickMilliseconds)
        integer(map["event_loops"], "server.event_loops", ServerConfig.eventLoopsRange, into: &server.eventLoops)
        integer(
            map["max_connections"],
            "server.max_connections",
            ServerConfig.maxConnectionsRange,
            into: &server.maxConnections
        )
        integer(
            map["max_subscriptions"],
            "server.max_subscriptions",
            ServerConfig.maxSubscriptionsRange,
            into: &server.maxSubscriptions
        )
        integer(
            map["max_message_bytes"],
            "server.max_message_bytes",
            ServerConfig.maxMessageBytesRange,
            into: &server.maxMessageBytes
        )
        integer(
            map["max_pending_bytes"],
            "server.max_pending_bytes",
            ServerConfig.maxPendingBytesRange,
            into: &server.maxPendingBytes
        )
        integer(
            map["max_subscription_bytes"],
            "server.max_subscription_bytes",
            1_024...16_777_216,
            into: &server.maxSubscriptionBytes
        )
        integer(
            map["header_timeout_ms"],
            "server.header_timeout_ms",
            100...600_000,
            into: &server.headerTimeoutMilliseconds
        )
        integer(
            map["idle_timeout_ms"],
            "server.idle_timeout_ms",
            100...86_400_000,
            into: &server.idleTimeoutMilliseconds
        )
        integer(map["max_pending_writes"], "server.max_pending_writes", 1...10_000, into: &server.maxPendingWrites)
        if let n = map["direct_sends"], let v = boolean(n, "server.direct_sends") { server.directSends = v }
        integer(
            map["ping_interval_ms"],
            "server.ping_interval_ms",
            100...3_600_000,
            into: &server.pingIntervalMilliseconds
        )
        decodeDashboard(map, into: &server)
        return server
    }

    private mutating func decodeChannels(_ node: YAMLNode) -> ChannelsConfig {
        var channels = ChannelsConfig()
        guard let map = mapping(node, "channels", keys: ["history", "history_by_prefix"], what: "'channels'") else {
            return channels
        }
        integer(map["history"], "channels.history", ChannelsConfig.historyRange, into: &channels.history)
        if let node = map["history_by_prefix"] {
            guard case .mapping(let pairs) = node.kind else {
                report(
                    .wrongType,
                    node,
                    "channels.history_by_prefix",
                    "expected a mapping of prefix: depth, found \(node.typeName)"
                )
                return channels
            }
            for (key, value) in pairs {
                guard case .scalar(let text, _) = key.kind else {
                    report(
                        .wrongType,
                        key,
                        "channels.history_by_prefix",
                        "prefixes must be strings, found \(key.typeName)"
                    )
                    continue
                }
                let path = "channels.history_by_prefix.\(text)"
                let prefix: ChannelPath
                do {
                    prefix = try ChannelPath(text)
                } catch {
                    report(.invalidPath, key, path, "'\(text)' is not a valid channel prefix: \(error)")
                    continue
                }
                if channels.historyByPrefix[prefix] != nil {
                    report(.duplicateKey, key, path, "duplicate prefix '\(text)'")
                    continue
                }
                var depth = channels.history
                integer(value, path, ChannelsConfig.historyRange, into: &depth)
                channels.historyByPrefix[prefix] = depth
            }
        }
        return channels
    }

    private mutating func decodeDevices(_ node: YAMLNode) -> [DeviceConfig] {
        guard case .sequence(let items) = node.kind else {
            report(
                .wrongType,
                node,
                "devices",
                "expected a list of devices (lines starting with '- '), found \(node.typeName)"
            )
            return []
        }
        var devices: [DeviceConfig] = []
        var names: [String: SourceMark] = [:]
        var prefixes: [ChannelPath: (name: String, mark: SourceMark)] = [:]
        var writable: [ChannelPath: (name: String, mark: SourceMark)] = [:]
        for (index, item) in items.enumerated() {
            let path = "devices[\(index)]"
            guard var device = decodeDevice(item, path) else { continue }
            device.config.writable = device.writable.filter { declared in
                let channel = declared.channel.path
                if let first = writable[channel] {
                    report(
                        .duplicateName,
                        declared.node,
                        declared.keyPath,
                        "\(channel) is already writable through device '\(first.name)' (line \(first.mark.line)); a channel has one owner"
                    )
                    return false
                }
                writable[channel] = (device.name.name, declared.node.mark)
                return true
            }.map(\.channel)
            if let first = names[device.name.name] {
                report(
                    .duplicateName,
                    device.name.node,
                    "\(path).name",
                    "device name '\(device.name.name)' is already used at line \(first.line); names must be unique"
                )
            } else {
                names[device.name.name] = device.name.node.mark
            }
            if let first = prefixes[device.config.prefix] {
                report(
                    .duplicatePrefix,
                    device.prefixNode,
                    "\(path).prefix",
                    "prefix '\(device.config.prefix)' is already claimed by device '\(first.name)' at line \(first.mark.line)"
                )
            } else {
                prefixes[device.config.prefix] = (device.name.name, device.prefixNode.mark)
            }
            devices.append(device.config)
        }
        return devices
    }

    private mutating func decodeDevice(
        _ node: YAMLNode,
        _ path: String
    )
        -> (
            config: DeviceConfig, name: (name: String, node: YAMLNode), prefixNode: YAMLNode,
            writable: [DeclaredWritable]
        )?
    {
        let keys = ["name", "script", "prefix", "params", "limits", "writable"]
        guard let map = mapping(node, path, keys: keys, what: "a device") else { return nil }
        var complete = true
        for key in ["name", "script", "prefix"] where map[key] == nil {
            report(.missingKey, node, path, "missing required key '\(key)'")
            complete = false
        }
        let name = name(map["name"], "\(path).name", what: "device")
        var scriptPath: String?
        var script: String?
        if let n = map["script"], let v = string(n, "\(path).script") {
            let resolved = v.hasPrefix("/") ? v : baseDirectory + "/" + v
            var isDirectory = false
            if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) || isDirectory {
                report(
                    .missingScript,
                    n,
                    "\(path).script",
                    "script '\(v)' not found (looked for \(resolved); relative paths start at the directory of \(file))"
                )
            } else {
                script = v
                scriptPath = resolved
            }
        }
        var prefix: ChannelPath?
        if let n = map["prefix"], let v = string(n, "\(path).prefix") {
            do {
                prefix = try ChannelPath(v)
            } catch {
                report(.invalidPath, n, "\(path).prefix", "'\(v)' is not a valid channel prefix: \(error)")
            }
        }
        var params = JSONValue.object([:])
        if let n = map["params"] {
            if case .mapping = n.kind {
                params = json(n, "\(path).params")
            } else {
                report(.wrongType, n, "\(path).params", "expected a mapping of parameters, found \(n.typeName)")
            }
        }
        var writable: [DeclaredWritable] = []
        if let n = map["writable"] { writable = decodeWritable(n, "\(path).writable", prefix: prefix) }
        if let script, ModbusDeviceParams.applies(toScript: script) {
            let modbus = decodeModbusDevice(map["params"], device: node, "\(path).params")
            if let modbus, let prefix {
                writable = checkModbusWritable(writable, modbus, params: map["params"], prefix: prefix, path)
            }
        }
        var limits = DeviceLimits()
        if let n = map["limits"] { limits = decodeLimits(n, "\(path).limits") }
        guard complete, let name, let script, let scriptPath, let prefix, let nameNode = map["name"],
            let prefixNode = map["prefix"]
        else { return nil }
        let config = DeviceConfig(
            name: name,
            script: script,
            scriptPath: scriptPath,
            prefix: prefix,
            params: params,
            limits: limits
        )
        return (config, (name, nameNode), prefixNode, writable)
    }

    /// The name at `node` (a device's, a bridge's, an identity's, a token's: `what`), or nil
    /// with a located error when it is not 1-64 letters, digits, '-', '_' or '.' (or is
    /// `excluding`, a reserved name).
    mutating func name(_ node: YAMLNode?, _ path: String, what: String, excluding reserved: String? = nil) -> String? {
        guard let node, let value = string(node, path) else { return nil }
        if Self.isValidDeviceName(value) && value != reserved { return value }
        let rule = "use 1-64 letters, digits, '-', '_' or '.'" + (reserved.map { " (not '\($0)')" } ?? "")
        report(.invalidName, node, path, "'\(value)' is not a valid \(what) name; \(rule)")
        return nil
    }

    static func isValidDeviceName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
                    || c == 0x5F || c == 0x2E
            } && name != "." && name != ".."
    }

    private mutating func decodeCommands(_ node: YAMLNode) -> CommandsConfig {
        var commands = CommandsConfig()
        guard let map = mapping(node, "commands", keys: ["timeout_s", "max_queued"], what: "'commands'") else {
            return commands
        }
        if let n = map["timeout_s"], let v = number(n, "commands.timeout_s") {
            if v > 0 && v <= 3_600 {
                commands.timeoutSeconds = v
            } else {
                report(
                    .outOfRange,
                    n,
                    "commands.timeout_s",
                    "\(Self.show(n)) is out of range; expected seconds in (0, 3600]"
                )
            }
        }
        integer(map["max_queued"], "commands.max_queued", 1...10_000, into: &commands.maxQueued)
        return commands
    }

    private mutating func decodeLimits(_ node: YAMLNode, _ path: String) -> DeviceLimits {
        var limits = DeviceLimits()
        guard let map = mapping(node, path, keys: ["memory_mb", "cpu_guard_s", "stop_grace_ms"], what: "'limits'")
        else { return limits }
        integer(map["memory_mb"], "\(path).memory_mb", DeviceLimits.memoryMBRange, into: &limits.memoryMB)
        integer(
            map["stop_grace_ms"],
            "\(path).stop_grace_ms",
            DeviceLimits.stopGraceMillisecondsRange,
            into: &limits.stopGraceMilliseconds
        )
        number(
            map["cpu_guard_s"],
            "\(path).cpu_guard_s",
            DeviceLimits.cpuGuardSecondsRange,
            unit: "seconds",
            note: "the guard cannot be turned off",
            into: &limits.cpuGuardSeconds
        )
        return limits
    }
}
