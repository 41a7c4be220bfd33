import FoundationEssentials
import PlenumCore

/// `auth:` and the security keys of `server:` (`allow_anonymous`, `allowed_origins`, `tls`),
/// and the rule tying them to `server.host`.
extension ConfigDecoder {
    static let serverSecurityKeys = ["allow_anonymous", "allowed_origins", "tls"]

    mutating func decodeAuth(_ node: YAMLNode) -> AuthConfig {
        var auth = AuthConfig()
        guard let map = mapping(node, "auth", keys: ["tokens", "metrics", "health"], what: "'auth'") else {
            return auth
        }
        if let n = map["metrics"], let v = endpointAccess(n, "auth.metrics") { auth.metrics = v }
        if let n = map["health"], let v = endpointAccess(n, "auth.health") { auth.health = v }
        guard let tokensNode = map["tokens"] else {
            report(
                .missingKey,
                node,
                "auth",
                "missing required key 'tokens' (a list of named tokens; docs/security.md)"
            )
            return auth
        }
        guard case .sequence(let items) = tokensNode.kind else {
            report(
                .wrongType,
                tokensNode,
                "auth.tokens",
                "expected a list of tokens (lines starting with '- '), found \(tokensNode.typeName)"
            )
            return auth
        }
        var names: [String: Int] = [:]
        var hashes: [TokenHash: String] = [:]
        for (index, item) in items.enumerated() {
            let path = "auth.tokens[\(index)]"
            guard let token = decodeToken(item, path) else { continue }
            if let line = names[token.token.name] {
                report(
                    .duplicateName,
                    token.nameNode,
                    "\(path).name",
                    "token name '\(token.token.name)' is already used at line \(line); names must be unique"
                )
                continue
            }
            if let other = hashes[token.token.hash] {
                report(
                    .duplicateName,
                    token.hashNode,
                    "\(path).hash",
                    "token '\(other)' already has this hash; every token needs its own secret (plenum token new NAME)"
                )
                continue
            }
            names[token.token.name] = token.nameNode.mark.line
            hashes[token.token.hash] = token.token.name
            auth.tokens.append(token.token)
        }
        return auth
    }

    private mutating func decodeToken(
        _ node: YAMLNode,
        _ path: String
    ) -> (token: AccessPolicy.Token, nameNode: YAMLNode, hashNode: YAMLNode)? {
        guard let map = mapping(node, path, keys: ["name", "hash", "read", "write", "metrics"], what: "a token")
        else { return nil }
        for key in ["name", "hash"] where map[key] == nil {
            report(.missingKey, node, path, "missing required key '\(key)'")
        }
        let name = name(map["name"], "\(path).name", what: "token", excluding: "anonymous")
        var hash: TokenHash?
        if let n = map["hash"], let v = string(n, "\(path).hash") {
            do {
                hash = try TokenHash(v)
            } catch {
                report(.outOfRange, n, "\(path).hash", error.description)
            }
        }
        let read = map["read"].map { patterns($0, "\(path).read") } ?? []
        let write = map["write"].map { patterns($0, "\(path).write") } ?? []
        var metrics = false
        if let n = map["metrics"], let v = boolean(n, "\(path).metrics") { metrics = v }
        guard let name, let hash, let nameNode = map["name"], let hashNode = map["hash"] else { return nil }
        let grant = AccessGrant(read: read, write: write, metrics: metrics)
        return (AccessPolicy.Token(name: name, hash: hash, grant: grant), nameNode, hashNode)
    }

    private mutating func endpointAccess(_ node: YAMLNode, _ path: String) -> AccessPolicy.EndpointAccess? {
        let choices = AccessPolicy.EndpointAccess.allCases.map(\.rawValue)
        guard let text = string(node, path) else { return nil }
        guard let value = AccessPolicy.EndpointAccess(rawValue: text) else {
            report(.outOfRange, node, path, "'\(text)' is not one of: \(choices.joined(separator: ", "))")
            return nil
        }
        return value
    }

    // MARK: - server.allow_anonymous, allowed_origins, tls

    mutating func decodeServerSecurity(_ map: [String: YAMLNode], into server: inout ServerConfig) {
        if let n = map["allow_anonymous"], let v = boolean(n, "server.allow_anonymous") { server.allowAnonymous = v }
        if let n = map["allowed_origins"] {
            if case .sequence(let items) = n.kind {
                for (index, item) in items.enumerated() {
                    guard let text = string(item, "server.allowed_origins[\(index)]") else { continue }
                    if Self.isOrigin(text) {
                        server.allowedOrigins.append(text.lowercased())
                    } else {
                        report(
                            .outOfRange,
                            item,
                            "server.allowed_origins[\(index)]",
                            "'\(text)' is not an origin; write it as a browser sends it (https://host or https://host:port, no path), or null, or *"
                        )
                    }
                }
            } else {
                report(
                    .wrongType,
                    n,
                    "server.allowed_origins",
                    "expected a list of origins such as [https://dashboard.plant.example], found \(n.typeName)"
                )
            }
        }
        if let n = map["tls"] { server.tls = decodeTLS(n) }
    }

    private mutating func decodeTLS(_ node: YAMLNode) -> TLSConfig? {
        guard let map = mapping(node, "server.tls", keys: ["cert", "key"], what: "'server.tls'") else { return nil }
        #if !TLS
        report(
            .unsupported,
            node,
            "server.tls",
            "this plenum was built without TLS (the package trait TLS is off); rebuild with the default traits, or remove server.tls and terminate TLS in front of the hub"
        )
        #endif
        var files: [String: (written: String, resolved: String)] = [:]
        for key in ["cert", "key"] {
            guard let n = map[key] else {
                report(.missingKey, node, "server.tls", "missing required key '\(key)' (a PEM file)")
                continue
            }
            guard let written = string(n, "server.tls.\(key)") else { continue }
            let resolved = written.hasPrefix("/") ? written : baseDirectory + "/" + written
            guard FileManager.default.isReadableFile(atPath: resolved) else {
                report(
                    .missingFile,
                    n,
                    "server.tls.\(key)",
                    "'\(written)' cannot be read (looked for \(resolved); relative paths start at the directory of \(file))"
                )
                continue
            }
            files[key] = (written, resolved)
        }
        guard let cert = files["cert"], let key = files["key"] else { return nil }
        return TLSConfig(cert: cert.written, key: key.written, certPath: cert.resolved, keyPath: key.resolved)
    }

    /// `scheme://host[:port]` with no path, `null`, or `*`.
    static func isOrigin(_ text: String) -> Bool {
        if text == "*" || text == "null" { return true }
        guard let range = text.firstRange(of: "://") else { return false }
        let authority = text[range.upperBound...]
        return !text[..<range.lowerBound].isEmpty && !authority.isEmpty && !authority.contains("/")
            && !authority.contains(where: \.isWhitespace)
    }

    // MARK: - The bind rule

    /// An anonymous hub (no `auth:`) serves loopback only unless `server.allow_anonymous` is set.
    mutating func checkAnonymousBind(_ config: HubConfig, server: YAMLNode?) {
        guard config.auth == nil, !config.server.allowAnonymous, !config.server.bindsLoopbackOnly else { return }
        var hostNode = server
        if let server, case .mapping(let pairs) = server.kind {
            hostNode = pairs.first { if case .scalar("host", _) = $0.key.kind { true } else { false } }?.value ?? server
        }
        guard let hostNode else { return }
        report(
            .insecure,
            hostNode,
            "server.host",
            "binding \(config.server.host) without an auth: section would let anyone on that network read every channel; add auth: tokens (docs/security.md), or set server.allow_anonymous: true to serve anonymously anyway, or bind 127.0.0.1"
        )
    }
}
