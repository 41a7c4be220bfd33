public import Logging
public import PlenumConfig
public import PlenumCore
public import PlenumDevices
import PlenumServer
import Prometheus
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// The running hub: the channel store, the push server and the device supervisor, wired
/// from one configuration. This is the seam tests use (in-memory configuration, port 0).
public final class Hub: Service, Sendable {
    public let store: ChannelStore
    public let supervisor: DeviceSupervisor
    private let configuration: Mutex<HubConfig>
    private let configPath: String?
    private let server: PushServer
    private let logger: Logger
    private let scriptPollSeconds: Double
    private let onListening: @Sendable (Int) -> Void
    private let devicesStarted = StartedFlag()
    /// The server's bound port, once it listens (finished without one if it cannot).
    private let ports: AsyncStream<Int>
    private let listening: AsyncStream<Int>.Continuation

    /// - Parameters:
    ///   - configPath: the file SIGHUP re-reads (nil: SIGHUP only reloads changed scripts).
    ///   - portOverride: listen here instead of `server.port` (the command line's `--port`).
    ///   - scriptPollSeconds: how often script files are checked for changes.
    ///   - onListening: called once with the bound port when the server accepts connections.
    public init(
        configuration: HubConfig,
        configPath: String? = nil,
        portOverride: Int? = nil,
        logger: Logger,
        scriptPollSeconds: Double = 1,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.configuration = Mutex(configuration)
        self.configPath = configPath
        self.logger = logger
        self.scriptPollSeconds = scriptPollSeconds
        self.onListening = onListening
        store = ChannelStore(
            history: configuration.channels.history,
            historyByPrefix: configuration.channels.historyByPrefix
        )
        var serverConfiguration = Self.serverConfiguration(configuration.server)
        if let portOverride { serverConfiguration.port = portOverride }
        // Metrics are kept per hub (no global bootstrap) and served on GET /metrics.
        let registry = PrometheusCollectorRegistry()
        var metrics = PrometheusMetricsFactory(registry: registry)
        metrics.durationHistogramBuckets["plenum_tick_duration_seconds"] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
        ]
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        self.ports = ports
        self.listening = listening
        server = PushServer(
            configuration: serverConfiguration,
            store: store,
            logger: logger,
            metrics: PushMetrics(factory: metrics),
            metricsText: { registry.emitToBuffer() },
            isReady: { [devicesStarted] in devicesStarted.isSet },
            onListening: { port in
                listening.yield(port)
                listening.finish()
            }
        )
        supervisor = DeviceSupervisor(store: store, logger: logger, metrics: metrics)
    }

    static func serverConfiguration(_ server: ServerConfig) -> ServerConfiguration {
        ServerConfiguration(
            host: server.host,
            port: server.port,
            tickMilliseconds: server.tickMilliseconds,
            eventLoops: server.eventLoops,
            maxConnections: server.maxConnections,
            maxSubscriptions: server.maxSubscriptions,
            maxSubscriptionBytes: server.maxSubscriptionBytes,
            maxMessageBytes: server.maxMessageBytes,
            maxPendingBytes: server.maxPendingBytes,
            headerTimeoutMilliseconds: server.headerTimeoutMilliseconds,
            idleTimeoutMilliseconds: server.idleTimeoutMilliseconds,
            pingIntervalMilliseconds: server.pingIntervalMilliseconds
        )
    }

    static func deviceSpecs(_ config: HubConfig) -> [DeviceSpec] {
        config.devices.map { device in
            DeviceSpec(
                name: device.name,
                script: device.script,
                scriptPath: device.scriptPath,
                prefix: device.prefix,
                params: device.params,
                memoryLimit: device.limits.memoryMB << 20,
                cpuGuardSeconds: device.limits.cpuGuardSeconds,
                stopGraceSeconds: Double(device.limits.stopGraceMilliseconds) / 1000
            )
        }
    }

    /// Starts everything and runs until graceful shutdown is requested (SIGTERM/SIGINT under a
    /// `ServiceGroup`); SIGHUP meanwhile reloads. Shutdown stops the server first (clients get
    /// 1001), then the devices.
    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // The server runs until graceful shutdown (clients get 1001); the devices stop after it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { self.listening.finish() }
                try await self.server.run()
            }
            var bound = ports.makeAsyncIterator()
            guard let port = await bound.next() else {
                try await group.next()  // the server failed to start: its error
                return
            }
            let config = configuration.withLock { $0 }
            supervisor.apply(Self.deviceSpecs(config))
            devicesStarted.set()
            supervisor.watchScripts(every: scriptPollSeconds)
            logger.info(
                "hub started",
                metadata: ["hub.epoch": "\(store.epoch)", "hub.devices": "\(config.devices.count)"]
            )
            onListening(port)
            group.addTask {
                try? await cancelWhenGracefulShutdown {
                    for await _ in hangups { self.reload() }
                }
            }
            try await group.waitForAll()
        }
        logger.info("shutting down")
        supervisor.stopAll()
        logger.info("stopped")
    }

    /// SIGHUP: re-read hub.yaml and apply its devices; an invalid file is rejected with its
    /// located errors and everything keeps running as it was.
    public func reload() {
        guard let configPath else {
            supervisor.reloadChangedScripts()
            return
        }
        logger.info("reloading", metadata: ["hub.config": "\(configPath)"])
        let next: HubConfig
        do {
            next = try ConfigLoader.load(path: configPath)
        } catch {
            for diagnostic in error.diagnostics { logger.error("\(diagnostic)") }
            logger.error("reload rejected: \(error.diagnostics.count) problem(s) in \(configPath); nothing changed")
            return
        }
        let previous = configuration.withLock { config in
            defer { config = next }
            return config
        }
        if next.server != previous.server {
            logger.warning("server settings changed in \(configPath); they take effect at the next restart")
        }
        supervisor.apply(Self.deviceSpecs(next))
        supervisor.reloadChangedScripts()
    }
}

/// Set once, read from any thread: whether the hub has started its devices (`/readyz`).
final class StartedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
