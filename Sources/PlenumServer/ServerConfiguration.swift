/// What the push server needs to know; `PlenumApp` fills it from hub.yaml's `server:` section.
/// docs/protocol.md ("Limits") states what these bound, per connection and in total.
public struct ServerConfiguration: Sendable, Equatable {
    public var host: String
    /// 0 picks a free port; `PushServer` reports the one bound through `onListening`.
    public var port: Int
    /// Push tick; 0 pushes as soon as published, coalesced per event loop.
    public var tickMilliseconds: Int
    /// Event loops; 0 means one per core.
    public var eventLoops: Int
    /// Open connections (HTTP and WebSocket alike) beyond this many are answered with HTTP 503
    /// and closed.
    public var maxConnections: Int
    /// Paths or patterns one connection may hold.
    public var maxSubscriptions: Int
    /// Bytes of pattern text (UTF-8) one connection may hold, all its subscriptions together.
    public var maxSubscriptionBytes: Int
    /// Largest client message after reassembly; larger ones close the connection with 1009.
    public var maxMessageBytes: Int
    /// A connection whose unsent bytes (buffered plus owed) exceed this when the hub is about to
    /// queue more for it is closed with 4008.
    public var maxPendingBytes: Int
    /// An HTTP request must arrive complete within this long of the connection opening or of the
    /// previous response; otherwise the connection is closed.
    public var headerTimeoutMilliseconds: Int
    /// A keep-alive HTTP connection with no request for this long is closed.
    public var idleTimeoutMilliseconds: Int
    /// A WebSocket from which nothing arrived for this long is pinged; if nothing arrives for as
    /// long again it is closed with 1001.
    public var pingIntervalMilliseconds: Int
    /// Writes one WebSocket connection may have waiting for their answer; beyond, a write is
    /// answered `busy` at once. (An HTTP connection has one: requests are answered in order.)
    public var maxPendingWrites: Int
    /// Whether a plaintext WebSocket's pushes go straight to its socket with one non-blocking
    /// `send` (`DirectSocket`); NIO then takes only what the kernel does not. False: every byte
    /// through NIO's write path. TLS connections always use NIO's.
    public var directSends: Bool

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        tickMilliseconds: Int = 10,
        eventLoops: Int = 0,
        maxConnections: Int = 10_000,
        maxSubscriptions: Int = 1_000,
        maxSubscriptionBytes: Int = 65_536,
        maxMessageBytes: Int = 65_536,
        maxPendingBytes: Int = 4 * 1_048_576,
        headerTimeoutMilliseconds: Int = 10_000,
        idleTimeoutMilliseconds: Int = 60_000,
        pingIntervalMilliseconds: Int = 30_000,
        maxPendingWrites: Int = 16,
        directSends: Bool = true
    ) {
        self.directSends = directSends
        self.maxPendingWrites = maxPendingWrites
        self.host = host
        self.port = port
        self.tickMilliseconds = tickMilliseconds
        self.eventLoops = eventLoops
        self.maxConnections = maxConnections
        self.maxSubscriptions = maxSubscriptions
        self.maxSubscriptionBytes = maxSubscriptionBytes
        self.maxMessageBytes = maxMessageBytes
        self.maxPendingBytes = maxPendingBytes
        self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.pingIntervalMilliseconds = pingIntervalMilliseconds
    }
}
