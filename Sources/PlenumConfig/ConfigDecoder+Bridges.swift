import FoundationEssentials
import Glibc
import PlenumCore

/// `site:` and `bridges:` (docs/configuration.md, docs/fleet.md), every mistake located.
extension ConfigDecoder {
    static let bridgeKeys = [
        "name", "host", "port", "client_id", "username", "password_file", "password_env", "tls", "topic_prefix",
        "include", "exclude", "qos", "retain", "keepalive_s", "max_inflight", "reconnect_min_s", "reconnect_max_s",
        "batch_ms", "downstream",
    ]

    /// `site:`, or the host name made topic-safe.
    mutating func decodeSite(_ node: YAMLNode?) -> String {
        guard let node else { return Self.defaultSite() }
        guard let site = string(node, "site") else { return Self.defaultSite() }
        guard Self.isValidDeviceName(site) else {
            report(
                .invalidName,
                node,
                "site",
                "'\(site)' is not a valid site name; use 1-64 letters, digits, '-', '_' or '.' (it goes into MQTT topics)"
            )
            return Self.defaultSite()
        }
        return site
    }

    /// The host name with anything but letters, digits, '-', '_' and '.' replaced by '-'.
    static func defaultSite() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "plenum" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let safe = String(
            name.unicodeScalars.prefix(64).map { c in
                c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "-_.".unicodeScalars.contains(c))
                    ? Character(c) : "-"
            }
        )
        return safe.isEmpty || safe == "." || safe == ".." ? "plenum" : safe
    }

    mutating func decodeBridges(_ node: YAMLNode, site: String) -> [BridgeConfig] {
        guard case .sequence(let items) = node.kind else {
            report(
                .wrongType,
                node,
                "bridges",
                "expected a list of bridges (lines starting with '- '), found \(node.typeName)"
            )
            return []
        }
        var bridges: [BridgeConfig] = []
        var names: [String: SourceMark] = [:]
        for (index, item) in items.enumerated() {
            let path = "bridges[\(index)]"
            guard let (bridge, nameNode) = decodeBridge(item, path, site: site) else { continue }
            if let first = names[bridge.name] {
                report(
                    .duplicateName,
                    nameNode,
                    "\(path).name",
                    "bridge name '\(bridge.name)' is already used at line \(first.line); names must be unique"
                )
                continue
            }
            names[bridge.name] = nameNode.mark
            bridges.append(bridge)
        }
        return bridges
    }

    private mutating func decodeBridge(_ node: YAMLNode, _ path: String, site: String) -> (BridgeConfig, YAMLNode)? {
        guard let map = mapping(node, path, keys: Self.bridgeKeys, what: "a bridge") else { return nil }
        var complete = true
        for key in ["name", "host"] where map[key] == nil {
            report(.missingKey, node, path, "missing required key '\(key)'")
            complete = false
        }
        let name = name(map["name"], "\(path).name", what: "bridge")
        var host: String?
        if let n = map["host"], let v = string(n, "\(path).host") {
            if v.isEmpty || v.contains(where: { $0.isWhitespace }) || v.utf8.count > 253 {
                report(.outOfRange, n, "\(path).host", "expected the broker's host name or IP address")
            } else {
                host = v
            }
        }
        guard complete, let name, let host, let nameNode = map["name"] else { return nil }
        var bridge = BridgeConfig(name: name, host: host, topicPrefix: "plenum/\(site)")
        if let n = map["tls"] { bridge.tls = decodeBridgeTLS(n, "\(path).tls") }
        bridge.port = bridge.tls == nil ? 1883 : 8883
        integer(map["port"], "\(path).port", 1...65_535, into: &bridge.port)
        if let n = map["client_id"], let v = string(n, "\(path).client_id") {
            if v.isEmpty || v.utf8.count > 128
                || v.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
            {
                report(
                    .outOfRange,
                    n,
                    "\(path).client_id",
                    "expected 1-128 characters without spaces or control characters (or leave it out for a unique default)"
                )
            } else {
                bridge.clientID = v
            }
        }
        if let n = map["topic_prefix"], let v = string(n, "\(path).topic_prefix") {
            if let problem = Self.topicPrefixProblem(v) {
                report(.outOfRange, n, "\(path).topic_prefix", "'\(v)' cannot prefix MQTT topics: \(problem)")
            } else {
                bridge.topicPrefix = v
            }
        }
        if let n = map["include"] { bridge.include = patterns(n, "\(path).include") }
        if let n = map["exclude"] { bridge.exclude = patterns(n, "\(path).exclude") }
        integer(map["qos"], "\(path).qos", 0...1, into: &bridge.qos)
        if let n = map["retain"], let v = boolean(n, "\(path).retain") { bridge.retain = v }
        integer(map["keepalive_s"], "\(path).keepalive_s", 5...65_535, into: &bridge.keepaliveSeconds)
        integer(map["max_inflight"], "\(path).max_inflight", 1...65_535, into: &bridge.maxInflight)
        integer(map["batch_ms"], "\(path).batch_ms", 0...1_000, into: &bridge.batchMilliseconds)
        integer(map["reconnect_min_s"], "\(path).reconnect_min_s", 1...3_600, into: &bridge.reconnectMinSeconds)
        integer(map["reconnect_max_s"], "\(path).reconnect_max_s", 1...3_600, into: &bridge.reconnectMaxSeconds)
        if bridge.reconnectMaxSeconds < bridge.reconnectMinSeconds,
            let n = map["reconnect_max_s"] ?? map["reconnect_min_s"]
        {
            report(
                .outOfRange,
                n,
                "\(path).reconnect_max_s",
                "must be at least reconnect_min_s (\(bridge.reconnectMinSeconds))"
            )
        }
        decodeCredentials(map, node, path, into: &bridge)
        if let n = map["downstream"] { bridge.downstream = decodeDownstream(n, "\(path).downstream") }
        return (bridge, nameNode)
    }

    private mutating func decodeCredentials(
        _ map: [String: YAMLNode],
        _ node: YAMLNode,
        _ path: String,
        into bridge: inout BridgeConfig
    ) {
        if let n = map["username"], let v = string(n, "\(path).username") { bridge.username = v }
        switch (map["password_file"], map["password_env"]) {
        case (let file?, nil):
            guard let v = string(file, "\(path).password_file") else { return }
            let resolved = resolve(v)
            guard let data = FileManager.default.contents(atPath: resolved) else {
                report(.unreadable, file, "\(path).password_file", "cannot read '\(v)' (looked for \(resolved))")
                return
            }
            bridge.password = password(Array(data), file, "\(path).password_file", "the file '\(v)'")
        case (nil, let env?):
            guard let v = string(env, "\(path).password_env") else { return }
            guard let value = getenv(v) else {
                report(
                    .missingKey,
                    env,
                    "\(path).password_env",
                    "the environment variable '\(v)' is not set (the hub reads the broker password from it)"
                )
                return
            }
            bridge.password = password(Array(String(cString: value).utf8), env, "\(path).password_env", "'\(v)'")
        case (let file?, .some):
            report(.structure, file, path, "give either 'password_file' or 'password_env', not both")
        case (nil, nil):
            break
        }
        if bridge.password != nil && bridge.username == nil {
            report(.missingKey, node, path, "a password needs a 'username' (MQTT sends no password without one)")
        }
    }

    /// The password without a trailing newline; empty ones are refused.
    private mutating func password(_ bytes: [UInt8], _ node: YAMLNode, _ path: String, _ source: String) -> Redacted? {
        var bytes = bytes[...]
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() }
        guard !bytes.isEmpty, let text = String(validating: bytes, as: UTF8.self) else {
            report(.outOfRange, node, path, "\(source) holds no password (empty, or not UTF-8)")
            return nil
        }
        return Redacted(text)
    }

    private mutating func decodeDownstream(_ node: YAMLNode, _ path: String) -> BridgeDownstreamConfig? {
        guard let map = mapping(node, path, keys: ["identity", "write", "max_pending"], what: "'downstream'") else {
            return nil
        }
        var complete = true
        for key in ["identity", "write"] where map[key] == nil {
            report(.missingKey, node, path, "missing required key '\(key)'")
            complete = false
        }
        let identity = name(map["identity"], "\(path).identity", what: "identity")
        let write = map["write"].map { patterns($0, "\(path).write") } ?? []
        var maxPending = 16
        integer(map["max_pending"], "\(path).max_pending", 1...10_000, into: &maxPending)
        guard complete, let identity else { return nil }
        return BridgeDownstreamConfig(identity: identity, write: write, maxPending: maxPending)
    }

    private mutating func decodeBridgeTLS(_ node: YAMLNode, _ path: String) -> BridgeTLSConfig? {
        guard let map = mapping(node, path, keys: ["ca", "cert", "key"], what: "'tls'") else { return nil }
        var tls = BridgeTLSConfig()
        tls.caFile = map["ca"].flatMap { pemFile($0, "\(path).ca") }
        tls.certFile = map["cert"].flatMap { pemFile($0, "\(path).cert") }
        tls.keyFile = map["key"].flatMap { pemFile($0, "\(path).key") }
        if (map["cert"] == nil) != (map["key"] == nil) {
            report(.missingKey, node, path, "a client certificate needs both 'cert' and 'key'")
        }
        return tls
    }

    /// A file that must exist, resolved against the directory holding hub.yaml.
    private mutating func pemFile(_ node: YAMLNode, _ path: String) -> String? {
        guard let v = string(node, path) else { return nil }
        let resolved = resolve(v)
        guard FileManager.default.isReadableFile(atPath: resolved) else {
            report(.unreadable, node, path, "cannot read '\(v)' (looked for \(resolved))")
            return nil
        }
        return resolved
    }

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : baseDirectory + "/" + path
    }

    /// Why `prefix` cannot start MQTT topics, or nil.
    static func topicPrefixProblem(_ prefix: String) -> String? {
        if prefix.isEmpty { return "it is empty" }
        if prefix.utf8.count > 256 { return "it is longer than 256 bytes" }
        if prefix.contains("+") || prefix.contains("#") { return "'+' and '#' are MQTT wildcards" }
        if prefix.hasPrefix("$") { return "topics starting with '$' are the broker's" }
        if prefix.hasPrefix("/") || prefix.hasSuffix("/") { return "it may not start or end with '/'" }
        if prefix.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "it contains control characters"
        }
        return nil
    }

    /// A list of channel patterns.
    mutating func patterns(_ node: YAMLNode, _ path: String) -> [ChannelPattern] {
        guard case .sequence(let items) = node.kind else {
            report(
                .wrongType,
                node,
                path,
                "expected a list of channel patterns such as [\"/plant/**\"], found \(node.typeName)"
            )
            return []
        }
        var out: [ChannelPattern] = []
        for (index, item) in items.enumerated() {
            guard let text = string(item, "\(path)[\(index)]") else { continue }
            do {
                out.append(try ChannelPattern(text))
            } catch {
                report(.invalidPath, item, "\(path)[\(index)]", "'\(text)' is not a valid channel pattern: \(error)")
            }
        }
        return out
    }
}
