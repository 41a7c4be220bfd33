/// Who may do what: tokens → read/write pattern sets → allow or deny per channel.
///
/// The one implementation of access control, used by the WebSocket server, REST, history and
/// commands alike. Pure and immutable (`Sendable`): a reload builds a new policy and hands it
/// to the server, which swaps it atomically.
///
/// - With no tokens configured (`AccessPolicy.anonymous`, hub.yaml without `auth:`), everyone is
///   the `anonymous` identity and may read and write everything; the hub then binds loopback
///   unless `server.allow_anonymous` says otherwise.
/// - With tokens, a request must present one (`authenticate`); an unknown token is refused.
public struct AccessPolicy: Sendable, Equatable {
    /// Who may `GET` an endpoint that carries no channel data (`/metrics`, `/healthz`, `/readyz`).
    public enum EndpointAccess: String, Sendable, Equatable, CaseIterable {
        /// Everyone, with or without a token.
        case any
        /// Clients on the loopback interface, and token holders (for `/metrics`: tokens with
        /// `metrics: true`).
        case local
        /// Token holders only (for `/metrics`: tokens with `metrics: true`).
        case token
    }

    /// An endpoint without channel data.
    public enum Endpoint: Sendable {
        case metrics
        case health
    }

    /// A named token: the hash of its secret and its grant.
    public struct Token: Sendable, Equatable {
        public let name: String
        public let hash: TokenHash
        public let grant: AccessGrant

        public init(name: String, hash: TokenHash, grant: AccessGrant) {
            self.name = name
            self.hash = hash
            self.grant = grant
        }
    }

    /// The tokens; nil when the hub serves anonymously.
    public let tokens: [Token]?
    /// Who may `GET /metrics` without a `metrics` token.
    public let metrics: EndpointAccess
    /// Who may `GET /healthz` and `/readyz` without a token.
    public let health: EndpointAccess

    /// No `auth:` section: everyone is `anonymous` and may do everything.
    public static let anonymous = AccessPolicy(tokens: nil, metrics: .any, health: .any)

    /// The identity every client has when the hub serves anonymously.
    public static let anonymousIdentity = Identity(name: "anonymous", grant: .everything, key: nil)

    /// - Parameters:
    ///   - tokens: nil for an anonymous hub; otherwise the tokens (possibly none: nobody gets in).
    ///   - metrics: who else may read `/metrics` (default: loopback clients).
    ///   - health: who may read `/healthz` and `/readyz` (default: everyone).
    public init(tokens: [Token]?, metrics: EndpointAccess = .local, health: EndpointAccess = .any) {
        self.tokens = tokens
        self.metrics = tokens == nil ? .any : metrics
        self.health = tokens == nil ? .any : health
    }

    /// Whether clients must present a token.
    public var requiresToken: Bool { tokens != nil }

    /// The identity of a client that presents no token: `anonymous` when the hub has no `auth:`
    /// section, nil otherwise.
    public var unauthenticated: Identity? { tokens == nil ? Self.anonymousIdentity : nil }

    /// The identity `secret` names, or nil when no token matches. The secret is hashed and
    /// compared with every configured hash in constant time (no early exit), so the answer's
    /// timing says nothing about how close a guess was.
    public func authenticate(_ secret: some StringProtocol) -> Identity? {
        guard let tokens else { return Self.anonymousIdentity }
        let presented = TokenHash(hashing: String(secret))
        var found: Token?
        for token in tokens where token.hash.constantTimeEquals(presented) { found = token }
        return found.map { Identity(name: $0.name, grant: $0.grant, key: $0.hash) }
    }

    /// What `identity` (from this or an earlier policy) is under this policy: the same token's
    /// identity now, or nil when its token is gone (revoked, or the hub no longer serves
    /// anonymously). Compare the result with `identity` to see whether its grant changed.
    public func current(_ identity: Identity) -> Identity? {
        guard let key = identity.key else { return unauthenticated }
        guard let token = tokens?.first(where: { $0.hash == key }) else { return nil }
        return Identity(name: token.name, grant: token.grant, key: token.hash)
    }

    /// Whether a client with `identity` (nil: no token presented) may `GET` `endpoint`;
    /// `loopback` tells whether it connected from the loopback interface.
    public func allows(_ endpoint: Endpoint, to identity: Identity?, loopback: Bool) -> Bool {
        let rule: EndpointAccess
        let tokenSuffices: Bool
        switch endpoint {
        case .metrics:
            rule = metrics
            tokenSuffices = identity?.canReadMetrics ?? false
        case .health:
            rule = health
            tokenSuffices = identity != nil
        }
        switch rule {
        case .any: return true
        case .local: return loopback || tokenSuffices
        case .token: return tokenSuffices
        }
    }

    /// Whether `host` (a listen address) accepts connections from this machine only:
    /// 127.0.0.0/8, `::1`, `localhost`. An anonymous hub binds only such an address unless told
    /// otherwise (`server.allow_anonymous`).
    public static func isLoopback(host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
