/// What the push server needs to know; `PlenumApp` fills it from hub.yaml's `server:` section.
public struct ServerConfiguration: Sendable, Equatable {
    public var host: String
    /// 0 picks a free port; `PushServer.start()` returns the one bound.
    public var port: Int
    /// Push tick; 0 pushes as soon as published, coalesced per event loop.
    public var tickMilliseconds: Int
    /// Event loops; 0 means one per core.
    public var eventLoops: Int
    /// WebSocket upgrades beyond this many open connections get HTTP 503.
    public var maxConnections: Int
    /// Paths or patterns one connection may hold.
    public var maxSubscriptions: Int
    /// Largest client message after reassembly; larger ones close the connection with 1009.
    public var maxMessageBytes: Int
    /// A connection whose unsent bytes (buffered plus owed) exceed this is closed with 4008.
    public var maxPendingBytes: Int

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        tickMilliseconds: Int = 10,
        eventLoops: Int = 0,
        maxConnections: Int = 10_000,
        maxSubscriptions: Int = 1_000,
        maxMessageBytes: Int = 65_536,
        maxPendingBytes: Int = 4 * 1_048_576
    ) {
        self.host = host
        self.port = port
        self.tickMilliseconds = tickMilliseconds
        self.eventLoops = eventLoops
        self.maxConnections = maxConnections
        self.maxSubscriptions = maxSubscriptions
        self.maxMessageBytes = maxMessageBytes
        self.maxPendingBytes = maxPendingBytes
    }
}
