public import PlenumCore

/// `auth:` — the tokens that may connect and what each may do (docs/security.md).
public struct AuthConfig: Sendable, Equatable {
    /// `tokens:` in the order written; names and hashes are unique.
    public var tokens: [AccessPolicy.Token] = []
    /// Who may `GET /metrics` without a token granted `metrics: true`. Default `local`.
    public var metrics: AccessPolicy.EndpointAccess = .local
    /// Who may `GET /healthz` and `/readyz`. Default `any`.
    public var health: AccessPolicy.EndpointAccess = .any

    public init(
        tokens: [AccessPolicy.Token] = [],
        metrics: AccessPolicy.EndpointAccess = .local,
        health: AccessPolicy.EndpointAccess = .any
    ) {
        self.tokens = tokens
        self.metrics = metrics
        self.health = health
    }
}

/// `server.tls:` — the certificate chain and private key, PEM files.
public struct TLSConfig: Sendable, Equatable {
    /// As written in hub.yaml.
    public var cert: String
    public var key: String
    /// Resolved against the directory holding hub.yaml.
    public var certPath: String
    public var keyPath: String

    public init(cert: String, key: String, certPath: String, keyPath: String) {
        self.cert = cert
        self.key = key
        self.certPath = certPath
        self.keyPath = keyPath
    }
}

extension HubConfig {
    /// The access policy hub.yaml describes: anonymous without `auth:`.
    public var accessPolicy: AccessPolicy {
        guard let auth else { return .anonymous }
        return AccessPolicy(tokens: auth.tokens, metrics: auth.metrics, health: auth.health)
    }
}

extension ServerConfig {
    /// Whether `host` accepts connections from this machine only (127.0.0.0/8, ::1, localhost).
    public var bindsLoopbackOnly: Bool { AccessPolicy.isLoopback(host: host) }
}
