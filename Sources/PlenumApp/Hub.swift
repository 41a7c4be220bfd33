public import Logging
public import PlenumConfig
public import PlenumCore
import PlenumServer
public import ServiceLifecycle

/// The running hub: the channel store, the push server and the device supervisor, wired
/// from one configuration. This is the seam tests use (in-memory configuration, port 0).
public final class Hub: Service, Sendable {
    public let configuration: HubConfig
    public let store: ChannelStore
    private let server: PushServer
    private let logger: Logger
    private let onListening: @Sendable (Int) -> Void

    /// - Parameter onListening: called once with the bound port when the server accepts connections.
    public init(
        configuration: HubConfig,
        logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        store = ChannelStore()
        server = PushServer(configuration: Self.serverConfiguration(configuration.server), store: store, logger: logger)
    }

    static func serverConfiguration(_ server: ServerConfig) -> ServerConfiguration {
        ServerConfiguration(
            host: server.host,
            port: server.port,
            tickMilliseconds: server.tickMilliseconds,
            eventLoops: server.eventLoops,
            maxConnections: server.maxConnections,
            maxSubscriptions: server.maxSubscriptions,
            maxMessageBytes: server.maxMessageBytes,
            maxPendingBytes: server.maxPendingBytes
        )
    }

    /// Starts everything, runs until graceful shutdown is requested (SIGTERM/SIGINT under a
    /// `ServiceGroup`), then stops the server (closing WebSockets with 1001) and the devices.
    public func run() async throws {
        let port = try await server.start()
        logger.info(
            "hub started",
            metadata: ["hub.epoch": "\(store.epoch)", "hub.devices": "\(configuration.devices.count)"]
        )
        onListening(port)
        try? await gracefulShutdown()
        logger.info("shutting down")
        await server.shutdown()
    }
}
