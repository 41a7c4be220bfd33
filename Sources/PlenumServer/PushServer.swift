import CoreMetrics
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
public import PlenumCore
public import ServiceLifecycle
import Synchronization

#if TLS
import NIOSSL
#endif

/// The SwiftNIO HTTP + WebSocket server: one port, one `PushScheduler` per event loop.
///
/// A `Service`: nothing runs until `run()`, which creates the event loops, binds, reports the
/// bound port through `onListening`, and serves until graceful shutdown (or cancellation); then
/// it stops accepting, closes every WebSocket with 1001 (going away) and stops its loops.
public final class PushServer: Service, Sendable {
    private let configuration: ServerConfiguration
    private let store: ChannelStore
    private let logger: Logger
    private let counter: ConnectionCounter
    private let nextConnectionID = Atomic<Int>(1)
    private let metrics: PushMetrics
    private let routes: HTTPRoutes
    private let commands: CommandRouter?
    private let onListening: @Sendable (Int) -> Void
    /// The security given at start; `run()` applies it (building the TLS context).
    private let initialSecurity: ServerSecurity
    private let access: ServerAccess
    /// The loops' schedulers while running, for `reloadSecurity(_:)`.
    private let running = Mutex<[NIOLoopBoundBox<PushScheduler>]>([])

    /// How long shutdown waits for clients to take their 1001 close frames.
    static let closeGrace = TimeAmount.seconds(1)
    /// How long accepting pauses after the process ran out of file descriptors.
    static let acceptBackoff = TimeAmount.milliseconds(250)

    /// - Parameters:
    ///   - metrics: the counters the server bumps (see `PushMetrics`).
    ///   - metricsText: the Prometheus text `GET /metrics` serves (nil: 404).
    ///   - isReady: what `GET /readyz` reports (the hub: true once its devices started).
    ///   - readinessDetails: parts reported under `details` in `GET /readyz` (the trend store).
    ///   - history: answers `GET /api/history/<path>` (nil: 404 `trends_disabled`).
    ///   - security: tokens, allowed origins and TLS (default: anonymous, plaintext); replaced by
    ///     `reloadSecurity(_:)`.
    ///   - commands: where clients' writes go (WebSocket `write`, `PUT /api/channels/…`); nil:
    ///     the hub takes no writes and answers them `not_writable`.
    ///   - dashboard: the files served at `/` and `/ui/…` (nil: 404).
    ///   - onListening: called once with the bound port when the server accepts connections.
    public init(
        configuration: ServerConfiguration,
        store: ChannelStore,
        logger: Logger,
        security: ServerSecurity = ServerSecurity(),
        metrics: PushMetrics = PushMetrics(factory: NOOPMetricsHandler.instance),
        metricsText: (@Sendable () -> [UInt8])? = nil,
        isReady: @escaping @Sendable () -> Bool = { true },
        readinessDetails: @escaping @Sendable () -> [String: JSONValue] = { [:] },
        history: (any HistorySource)? = nil,
        commands: CommandRouter? = nil,
        dashboard: DashboardFiles? = nil,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.commands = commands
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.onListening = onListening
        counter = ConnectionCounter(limit: configuration.maxConnections)
        initialSecurity = security
        let access = ServerAccess(security, failures: AuthFailureLog(logger: logger, counter: metrics.authFailures))
        self.access = access
        routes = HTTPRoutes(
            store: store,
            access: access,
            connectionLimit: configuration.maxConnections,
            metricsText: metricsText,
            isReady: isReady,
            readinessDetails: readinessDetails,
            history: history,
            commands: commands,
            dashboard: dashboard
        )
    }

    /// Applies a reloaded `ServerSecurity`; callable from any thread. New requests and
    /// connections use it at once; on every open WebSocket whose token was revoked or whose
    /// grant changed, a close with 4003 is queued (within a few milliseconds: one task per event
    /// loop). A certificate that cannot be used is logged and the previous one kept; the rest
    /// applies anyway.
    public func reloadSecurity(_ security: ServerSecurity) {
        if let problem = access.replace(with: security) {
            logger.error("reload: \(problem); new connections keep the previous certificate")
        }
        let tokens = security.policy.tokens.map { "\($0.count)" } ?? "none (anonymous)"
        logger.info(
            "access reloaded",
            metadata: [
                "auth.tokens": "\(tokens)", "server.allowed_origins": "\(security.allowedOrigins.count)",
                "server.tls": "\(security.tls != nil)",
            ]
        )
        let policy = security.policy
        for box in running.withLock({ $0 }) {
            box.eventLoop.execute { box.value.apply(policy) }
        }
    }

    /// Serves until graceful shutdown or cancellation; throws when the port cannot be bound.
    public func run() async throws {
        let threads = configuration.eventLoops > 0 ? configuration.eventLoops : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var schedulers: [ObjectIdentifier: NIOLoopBoundBox<PushScheduler>] = [:]
        for loop in group.makeIterator() {
            let scheduler = PushScheduler(
                eventLoop: loop,
                store: store,
                configuration: configuration,
                logger: logger,
                metrics: metrics,
                access: access,
                commands: commands
            )
            schedulers[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(scheduler, eventLoop: loop)
        }
        let channel: Channel
        do {
            if let problem = access.replace(with: initialSecurity) { throw problem }
            for box in schedulers.values {
                let wakePipe =
                    configuration.tickMilliseconds == 0
                    ? try await WakePipe.open(on: box.eventLoop) { box.value.tick() } : nil
                try await box.eventLoop.submit { box.value.start(wakePipe: wakePipe) }.get()
            }
            channel = try await bind(group: group, schedulers: schedulers)
        } catch {
            await stopUncancelled(serverChannel: nil, schedulers: schedulers, group: group)
            throw error
        }
        running.withLock { $0 = Array(schedulers.values) }
        let failures = access.failures
        let flush = group.next().scheduleRepeatedTask(
            initialDelay: AuthFailureLog.interval,
            delay: AuthFailureLog.interval
        ) { _ in failures.flush() }
        let port = channel.localAddress?.port ?? configuration.port
        logAccess(port: port)
        logger.info(
            "listening",
            metadata: [
                "server.address": "\(configuration.host):\(port)", "server.event_loops": "\(schedulers.count)",
                "server.tick_ms": "\(configuration.tickMilliseconds)",
            ]
        )
        onListening(port)
        try? await gracefulShutdown()
        running.withLock { $0 = [] }
        flush.cancel()
        await stopUncancelled(serverChannel: channel, schedulers: schedulers, group: group)
    }

    /// Says at start who may connect: an anonymous hub on loopback is the safe default; an
    /// anonymous hub on another address (`allow_anonymous: true`) is a warning.
    private func logAccess(port: Int) {
        let security = access.security
        let scheme = security.tls == nil ? "plaintext" : "TLS"
        if let tokens = security.policy.tokens {
            logger.info(
                "clients need a token",
                metadata: ["auth.tokens": "\(tokens.count)", "server.address": "\(configuration.host):\(port)"]
            )
        } else if AccessPolicy.isLoopback(host: configuration.host) {
            logger.info(
                "no auth: section: serving anonymously, to this machine only (\(configuration.host)); add auth: tokens to serve the network (docs/security.md)"
            )
        } else {
            logger.warning(
                "serving anonymously on \(configuration.host):\(port) (allow_anonymous: true): anyone who reaches this port reads every channel (\(scheme))"
            )
        }
    }

    /// `stop`, outside this task's cancellation: after a cancellation the close frames still get
    /// their grace period (a cancelled `Task.sleep` would return at once).
    private func stopUncancelled(
        serverChannel: Channel?,
        schedulers: [ObjectIdentifier: NIOLoopBoundBox<PushScheduler>],
        group: MultiThreadedEventLoopGroup
    ) async {
        await Task { await self.stop(serverChannel: serverChannel, schedulers: schedulers, group: group) }.value
    }

    /// Stops accepting, closes every WebSocket with 1001 (going away), and stops the loops.
    private func stop(
        serverChannel: Channel?,
        schedulers: [ObjectIdentifier: NIOLoopBoundBox<PushScheduler>],
        group: MultiThreadedEventLoopGroup
    ) async {
        if let serverChannel { try? await serverChannel.close() }
        for box in schedulers.values {
            try? await box.eventLoop.submit { box.value.shutdown() }.get()
        }
        // Give the close frames a moment to reach the clients.
        let deadline = NIODeadline.now() + Self.closeGrace
        while NIODeadline.now() < deadline {
            var open = 0
            for box in schedulers.values {
                open += (try? await box.eventLoop.submit { box.value.connections.count }.get()) ?? 0
            }
            if open == 0 { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        try? await group.shutdownGracefully()
        logger.info("server stopped")
    }

    private func bind(
        group: MultiThreadedEventLoopGroup,
        schedulers: [ObjectIdentifier: NIOLoopBoundBox<PushScheduler>]
    ) async throws -> Channel {
        // A connection over this many unsent bytes stops being writable: the tick then owes it
        // updates, and `PushScheduler.mayQueue` can trust a writable connection to be under the cap.
        let high = min(65_536, configuration.maxPendingBytes)
        let logger = self.logger
        let metrics = self.metrics
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 4096)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoff(pause: Self.acceptBackoff, logger: logger, metrics: metrics)
                    )
                }
            }
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                ChannelOptions.writeBufferWaterMark,
                value: ChannelOptions.Types.WriteBufferWaterMark(low: high / 2, high: high)
            )
            // Clients send little after the handshake, and NIO keeps each connection's last receive
            // buffers for reuse: starting at 256 bytes instead of 2 KiB saves ~2 KiB per idle
            // connection (the buffer still grows for a large message).
            .childChannelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)
            )
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let box = schedulers[ObjectIdentifier(channel.eventLoop)] else {
                        preconditionFailure("a channel on an event loop the server did not create")
                    }
                    try self.configurePipeline(channel, scheduler: box)
                }
            }
        return try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
    }

    /// Every accepted connection takes a slot, given back when its channel closes — whether it
    /// stayed HTTP, upgraded, or vanished mid-handshake. Beyond the limit it is answered 503.
    private func configurePipeline(_ channel: Channel, scheduler: NIOLoopBoundBox<PushScheduler>) throws {
        let counter = self.counter
        let metrics = self.metrics
        let admitted = counter.reserve()
        metrics.openConnections.increment()
        channel.closeFuture.whenComplete { _ in
            if admitted { counter.release() }
            metrics.openConnections.decrement()
        }
        #if TLS
        if let context = access.tlsContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), name: "plenum.tls")
        }
        #endif
        let http = HTTPRequestHandler(
            routes: routes,
            admitted: admitted,
            headerTimeout: .milliseconds(Int64(configuration.headerTimeoutMilliseconds)),
            idleTimeout: .milliseconds(Int64(configuration.idleTimeoutMilliseconds)),
            metrics: metrics,
            maxBodyBytes: configuration.maxMessageBytes
        )
        guard admitted else {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(http)
            return
        }
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [webSocketUpgrader(scheduler: scheduler)],
                completionHandler: { context in
                    context.pipeline.removeHandler(name: "plenum.http", promise: nil)
                }
            )
        )
        try channel.pipeline.syncOperations.addHandler(http, name: "plenum.http")
    }

    private func webSocketUpgrader(scheduler box: NIOLoopBoundBox<PushScheduler>) -> NIOWebSocketServerUpgrader {
        let access = self.access
        return NIOWebSocketServerUpgrader(
            maxFrameSize: PushScheduler.maxFrameSize(configuration),
            // The connection handler answers the decoder's errors itself (one handler less per
            // connection).
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                guard WebSocketHandshake.refusal(head, target: WebSocketTarget(uri: head.uri)) == nil else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                // Refused here, answered by `HTTPRoutes` with the same `RequestAccess` check.
                if let refusal = RequestAccess.upgradeRefusal(head, security: access.security) {
                    if refusal.status == .unauthorized {
                        access.failures.record(from: channel.remoteAddress.map { "\($0)" } ?? "unknown")
                    }
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                var headers = HTTPHeaders()
                if RequestAccess.offersSubprotocol(head.headers) {
                    headers.add(name: "Sec-WebSocket-Protocol", value: RequestAccess.subprotocol)
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { [self] channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
                    try box.value.addConnection(to: channel, uri: head.uri, headers: head.headers, id: id)
                }
            }
        )
    }
}
