import Glibc
public import Logging
import PlenumBridge
public import PlenumConfig
import PlenumCore
import PlenumDevices
import PlenumServer
import PlenumTrends
import Prometheus
import ServiceLifecycle

/// The composition root: every part of the hub built from one configuration and wired.
///
/// The command line (`plenum run`) and the in-process tests both call this, so what the tests
/// run is what operators run. Nothing starts here: the parts are `Service`s that start when the
/// returned hub runs them (`Hub.run`).
public func buildHub(configuration: HubConfig, options: HubOptions = HubOptions(), logger: Logger) -> Hub {
    // The trend database first: after a clean stop it holds the epoch and the channels to
    // continue from (docs/protocol.md, "Restarts").
    let opening =
        configuration.trends.enabled
        ? TrendStore.open(TrendStoreConfiguration(configuration.trends), logger: logger) : nil
    // /plenum/audit keeps its last 1,000 attempts unless channels.history_by_prefix says otherwise.
    var historyByPrefix = configuration.channels.historyByPrefix
    if historyByPrefix[CommandRouter.auditPath] == nil {
        historyByPrefix[CommandRouter.auditPath] = CommandRouter.defaultAuditHistory
    }
    let store = ChannelStore(
        epoch: opening?.saved?.epoch,
        history: configuration.channels.history,
        historyByPrefix: historyByPrefix,
        restoring: opening?.saved?.channels ?? []
    )
    let commands = CommandRouter(
        store: store,
        defaultTimeoutSeconds: configuration.commands.timeoutSeconds,
        queueLimit: configuration.commands.maxQueued,
        onAudit: { record in logWrite(record, logger: logger) }
    )
    // Metrics are kept per hub (no global bootstrap) and served on GET /metrics.
    let registry = PrometheusCollectorRegistry()
    var metrics = PrometheusMetricsFactory(registry: registry)
    metrics.durationHistogramBuckets["plenum_tick_duration_seconds"] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
    ]
    for name in ["plenum_trends_commit_duration_seconds", "plenum_trends_query_duration_seconds"] {
        metrics.durationHistogramBuckets[name] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
        ]
    }
    let trends = opening.map { TrendStore($0, store: store, logger: logger, metrics: metrics) }
    let progress = StartupProgress(logger: logger, epoch: store.epoch, deviceCount: configuration.devices.count)
    let supervisor = DeviceSupervisor(
        store: store,
        logger: logger,
        metrics: metrics,
        devices: configuration.deviceSpecs,
        scriptPollSeconds: options.scriptPollSeconds,
        onStarted: progress.markDevicesStarted,
        commands: commands
    )
    let dashboard = loadDashboard(configuration.server, logger: logger)
    var serverConfiguration = ServerConfiguration(configuration.server)
    if let port = options.portOverride { serverConfiguration.port = port }
    let server = PushServer(
        configuration: serverConfiguration,
        store: store,
        logger: logger,
        security: ServerSecurity(configuration),
        metrics: PushMetrics(factory: metrics),
        metricsText: { registry.emitToBuffer() },
        isReady: { progress.devicesStarted },
        readinessDetails: { trends.map { ["trends": $0.status.json] } ?? [:] },
        history: trends,
        commands: commands,
        dashboard: dashboard,
        onListening: { port in
            progress.markListening()
            options.onListening(port)
        }
    )
    let reloader = HubReloader(
        configuration: configuration,
        configPath: options.configPath,
        supervisor: supervisor,
        server: server,
        logger: logger
    )
    let bridges = configuration.bridges.compactMap { bridge -> MQTTBridge? in
        do {
            return try MQTTBridge(
                configuration: BridgeConfiguration(bridge, hub: configuration, options: options, epoch: store.epoch),
                store: store,
                commands: commands,
                logger: logger,
                metrics: metrics
            )
        } catch {
            logger.error("bridge \(bridge.name) not built: \(error)")
            return nil
        }
    }
    // Started in this order, shut down in the reverse: SIGHUP handling ends first, then the
    // server closes every WebSocket with 1001, then the devices stop, then the MQTT bridges send
    // the final versions (the devices' `stopped` statuses among them) and `offline`, so the
    // broker's retained values are the hub's last ones and nothing follows `offline`; last, the
    // trend store writes the last minutes and saves the channels with nothing publishing any more.
    let services: [any Service] = (trends.map { [$0] } ?? []) + bridges + [supervisor, server, reloader]
    return Hub(store: store, supervisor: supervisor, commands: commands, reloader: reloader, services: services)
}

/// Every write attempt in the hub's log, as in `/plenum/audit`.
private func logWrite(_ record: AuditRecord, logger: Logger) {
    var metadata: Logger.Metadata = [
        "write.who": "\(record.who)", "channel.path": "\(record.channel)", "write.value": "\(record.value.jsonString)",
        "write.result": "\(record.outcome.code.rawValue)", "write.via": "\(record.via)",
    ]
    if !record.outcome.message.isEmpty { metadata["write.message"] = "\(record.outcome.message)" }
    if let id = record.commandID { metadata["write.id"] = "\(id)" }
    logger.log(level: record.outcome.isOK ? .info : .notice, "write", metadata: metadata)
}

extension ServerConfiguration {
    init(_ server: ServerConfig) {
        self.init(
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
            pingIntervalMilliseconds: server.pingIntervalMilliseconds,
            maxPendingWrites: server.maxPendingWrites,
            directSends: server.directSends
        )
    }
}

extension ServerSecurity {
    /// `auth:`, `server.allowed_origins` and `server.tls`: what a reload may change.
    init(_ config: HubConfig) {
        self.init(
            policy: config.accessPolicy,
            allowedOrigins: config.server.allowedOrigins,
            tls: config.server.tls.map { TLSFiles(certificatePath: $0.certPath, privateKeyPath: $0.keyPath) }
        )
    }
}

extension BridgeConfiguration {
    /// A bridge from hub.yaml; the default client id is derived from the machine, the hub's
    /// configuration file and port (or, without a file, this run's epoch).
    init(_ bridge: BridgeConfig, hub: HubConfig, options: HubOptions, epoch: String) {
        let instance =
            options.configPath.map { "\(absolutePath($0)):\(options.portOverride ?? hub.server.port)" } ?? epoch
        self.init(
            name: bridge.name,
            host: bridge.host,
            port: bridge.port,
            clientID: bridge.clientID
                ?? ClientIdentifier.make(
                    site: hub.site,
                    bridge: bridge.name,
                    machineID: ClientIdentifier.machineID(),
                    instance: instance
                ),
            username: bridge.username,
            password: bridge.password,
            tls: bridge.tls.map { TLS(caFile: $0.caFile, certFile: $0.certFile, keyFile: $0.keyFile) },
            topicPrefix: bridge.topicPrefix,
            include: bridge.include,
            exclude: bridge.exclude,
            qos: bridge.qos,
            retain: bridge.retain,
            keepaliveSeconds: bridge.keepaliveSeconds,
            maxInflight: bridge.maxInflight,
            reconnectMinSeconds: bridge.reconnectMinSeconds,
            reconnectMaxSeconds: bridge.reconnectMaxSeconds,
            batchMilliseconds: bridge.batchMilliseconds,
            downstream: bridge.downstream.map {
                Downstream(identity: $0.identity, write: $0.write, maxPending: $0.maxPending)
            }
        )
    }
}

/// `path` made absolute against the working directory.
private func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
}

extension HubConfig {
    /// What the device supervisor runs.
    var deviceSpecs: [DeviceSpec] {
        devices.map { device in
            DeviceSpec(
                name: device.name,
                script: device.script,
                scriptPath: device.scriptPath,
                prefix: device.prefix,
                params: device.params,
                memoryLimit: device.limits.memoryMB << 20,
                cpuGuardSeconds: device.limits.cpuGuardSeconds,
                stopGraceSeconds: Double(device.limits.stopGraceMilliseconds) / 1000,
                writable: device.writable
            )
        }
    }
}

extension TrendStoreConfiguration {
    init(_ trends: TrendsConfig) {
        self.init(
            path: trends.resolvedPath,
            aggregateRetentionSeconds: trends.aggregateRetentionSeconds,
            raw: trends.raw,
            rawRetentionSeconds: trends.rawRetentionSeconds,
            prefixes: trends.prefixes.mapValues { rule in
                PrefixRule(
                    raw: rule.raw,
                    rawRetentionSeconds: rule.rawRetentionSeconds,
                    aggregateRetentionSeconds: rule.aggregateRetentionSeconds
                )
            },
            maxPendingBytes: trends.maxPendingMB << 20,
            maxQueryPoints: trends.maxQueryPoints
        )
    }
}
