/// Who is connected, and what they may do: the answer of `AccessPolicy.authenticate(_:)`.
///
/// Immutable. A server keeps the identity of each connection and asks it per channel — once,
/// when a channel is attached to the connection (a subscription, a channel that appears), never
/// per message. A reload that changes a token's grant gives a new policy; the server compares
/// (`AccessPolicy.current(_:)`) and closes what no longer holds (docs/security.md).
public struct Identity: Sendable, Hashable, CustomStringConvertible {
    /// The token's name from hub.yaml (`anonymous` when the hub has no `auth:` section). Logged,
    /// and written as "who" in the audit channel.
    public let name: String
    /// What the token may read, write and see.
    public let grant: AccessGrant
    /// The token's hash; nil for the anonymous identity and for identities configured without a
    /// token (an MQTT bridge's downstream). Two identities with the same key are the same token.
    public let key: TokenHash?

    public init(name: String, grant: AccessGrant, key: TokenHash?) {
        self.name = name
        self.grant = grant
        self.key = key
    }

    /// Whether this identity may receive `path` (snapshots, updates, replays, REST, history).
    public func canRead(_ path: ChannelPath) -> Bool {
        grant.readsEverything || grant.read.contains { $0.matches(path) }
    }

    /// Whether this identity may write to `path` (WebSocket `write`, `PUT /api/channels/…`).
    public func canWrite(_ path: ChannelPath) -> Bool {
        grant.writesEverything || grant.write.contains { $0.matches(path) }
    }

    /// Whether any channel `pattern` matches could be readable: false means a subscription to it
    /// can never deliver anything, and is refused with `forbidden`.
    public func mayRead(anyOf pattern: ChannelPattern) -> Bool {
        grant.readsEverything || grant.read.contains { $0.overlaps(pattern) }
    }

    /// Whether everything `pattern` matches is readable (no per-channel filtering needed).
    public func canRead(allOf pattern: ChannelPattern) -> Bool {
        grant.readsEverything || grant.read.contains { $0.covers(pattern) }
    }

    /// Whether `GET /metrics` is granted to this token (`metrics: true`).
    public var canReadMetrics: Bool { grant.metrics }

    /// Whether this is the hub's anonymous identity (no `auth:` section).
    public var isAnonymous: Bool { key == nil && name == AccessPolicy.anonymousIdentity.name }

    public var description: String { name }
}

/// What one token may do: read and write pattern lists, and the `metrics` grant.
public struct AccessGrant: Sendable, Hashable {
    public let read: [ChannelPattern]
    public let write: [ChannelPattern]
    /// May `GET /metrics` from anywhere (otherwise `auth.metrics` decides).
    public let metrics: Bool
    /// `read` holds `/**`: the per-channel check is one branch.
    let readsEverything: Bool
    let writesEverything: Bool

    public init(read: [ChannelPattern], write: [ChannelPattern] = [], metrics: Bool = false) {
        self.read = read
        self.write = write
        self.metrics = metrics
        readsEverything = read.contains { $0.string == "/**" }
        writesEverything = write.contains { $0.string == "/**" }
    }

    /// Everything: the anonymous identity's grant.
    public static let everything = AccessGrant(read: [Self.all], write: [Self.all], metrics: true)

    private static let all = try! ChannelPattern("/**")
}
