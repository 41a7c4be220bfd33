import CoreMetrics
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PlenumCore
import Synchronization

/// The SwiftNIO HTTP + WebSocket server: one port, one `PushScheduler` per event loop.
///
/// Lifecycle: `start()` binds and begins ticking; `shutdown()` stops accepting, closes every
/// WebSocket with 1001 and stops the event loops.
public final class PushServer: Sendable {
    private let configuration: ServerConfiguration
    private let store: ChannelStore
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let schedulers: [ObjectIdentifier: NIOLoopBoundBox<PushScheduler>]
    private let counter: ConnectionCounter
    private let serverChannel = Mutex<Channel?>(nil)
    private let nextConnectionID = Atomic<Int>(1)
    private let isReady: @Sendable () -> Bool
    private let metrics: PushMetrics
    private let metricsText: (@Sendable () -> [UInt8])?

    /// - Parameters:
    ///   - metrics: the counters the server bumps (see `PushMetrics`).
    ///   - metricsText: the Prometheus text `GET /metrics` serves (nil: 404).
    ///   - isReady: what `GET /readyz` reports (the hub: true once its devices started).
    public init(
        configuration: ServerConfiguration,
        store: ChannelStore,
        logger: Logger,
        metrics: PushMetrics = PushMetrics(factory: NOOPMetricsHandler.instance),
        metricsText: (@Sendable () -> [UInt8])? = nil,
        isReady: @escaping @Sendable () -> Bool = { true }
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.metricsText = metricsText
        self.isReady = isReady
        let threads = configuration.eventLoops > 0 ? configuration.eventLoops : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        counter = ConnectionCounter(limit: configuration.maxConnections)
        var schedulers: [ObjectIdentifier: NIOLoopBoundBox<PushScheduler>] = [:]
        for loop in group.makeIterator() {
            let scheduler = PushScheduler(
                eventLoop: loop,
                store: store,
                configuration: configuration,
                logger: logger,
                metrics: metrics
            )
            schedulers[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(scheduler, eventLoop: loop)
        }
        self.schedulers = schedulers
    }

    /// Binds the port and starts every loop's tick. Returns the bound port (useful with port 0).
    @discardableResult
    public func start() async throws -> Int {
        for box in schedulers.values {
            let wakePipe =
                configuration.tickMilliseconds == 0
                ? try await WakePipe.open(on: box.eventLoop) { box.value.tick() } : nil
            try await box.eventLoop.submit { box.value.start(wakePipe: wakePipe) }.get()
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 4096)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            // Clients send little after the handshake, and NIO keeps each connection's last receive
            // buffers for reuse: starting at 256 bytes instead of 2 KiB saves ~2 KiB per idle
            // connection (the buffer still grows for a large message).
            .childChannelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)
            )
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.configurePipeline(channel) }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        serverChannel.withLock { $0 = channel }
        let port = channel.localAddress?.port ?? configuration.port
        logger.info(
            "listening",
            metadata: [
                "server.address": "\(configuration.host):\(port)", "server.event_loops": "\(schedulers.count)",
                "server.tick_ms": "\(configuration.tickMilliseconds)",
            ]
        )
        return port
    }

    /// Stops accepting, closes every WebSocket with 1001 (going away), and stops the loops.
    public func shutdown() async {
        if let channel = serverChannel.withLock({ $0 }) { try? await channel.close() }
        for box in schedulers.values {
            try? await box.eventLoop.submit { box.value.shutdown() }.get()
        }
        // Give the close frames a moment to reach the clients.
        for _ in 0..<100 where counter.current > 0 { try? await Task.sleep(for: .milliseconds(10)) }
        try? await group.shutdownGracefully()
        logger.info("server stopped")
    }

    private func configurePipeline(_ channel: Channel) throws {
        guard let box = schedulers[ObjectIdentifier(channel.eventLoop)] else {
            preconditionFailure("a channel on an event loop the server did not create")
        }
        let counter = self.counter
        let configuration = self.configuration
        let logger = self.logger
        let metrics = self.metrics
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: max(configuration.maxMessageBytes, 125),
            // The connection handler answers the decoder's errors itself (one handler less per
            // connection).
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                if case .invalid = PushServer.target(uri: head.uri) {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                guard counter.reserve() else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { [self] channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let tap = RawWriteTap()
                    try channel.pipeline.syncOperations.addHandler(tap, position: .first)
                    let output = try channel.pipeline.syncOperations.context(handler: tap)
                    let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
                    let connection = PushConnection(
                        id: id,
                        output: output,
                        maxSubscriptions: configuration.maxSubscriptions
                    )
                    let handler = WebSocketConnectionHandler(
                        scheduler: box.value,
                        connection: connection,
                        initialPattern: PushServer.target(uri: head.uri).pattern,
                        maxMessageBytes: configuration.maxMessageBytes,
                        counter: counter,
                        metrics: metrics,
                        logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                    logger.debug(
                        "websocket connected",
                        metadata: ["ws.connection.id": "\(id)", "ws.uri": "\(head.uri)"]
                    )
                }
            }
        )
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    context.pipeline.removeHandler(name: "plenum.http", promise: nil)
                }
            )
        )
        try channel.pipeline.syncOperations.addHandler(
            HTTPRequestHandler(store: store, counter: counter, metricsText: metricsText, isReady: isReady),
            name: "plenum.http"
        )
    }

    /// What a WebSocket URL asks for.
    enum WebSocketTarget: Equatable {
        case none
        case pattern(ChannelPattern)
        case invalid(String)

        var pattern: ChannelPattern? {
            if case .pattern(let p) = self { return p }
            return nil
        }
    }

    /// The subscription named by a WebSocket URL: `/ws` → none, `/ws/plant/**` → `/plant/**`.
    static func target(uri: String) -> WebSocketTarget {
        let path = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        guard path == "/ws" || path.hasPrefix("/ws/") else { return .invalid("not a WebSocket path") }
        let rest = String(path.dropFirst(3))
        if rest.isEmpty || rest == "/" { return .none }
        guard let decoded = percentDecode(rest) else { return .invalid("'\(rest)' has an invalid %-escape") }
        do {
            return .pattern(try ChannelPattern(decoded))
        } catch {
            return .invalid("'\(decoded)' is not a valid channel path or pattern: \(error)")
        }
    }

    /// Decodes %XX escapes; nil when an escape is malformed or the result is not UTF-8.
    static func percentDecode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
