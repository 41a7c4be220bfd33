public import CoreMetrics
public import Logging
public import PlenumCore
public import ServiceLifecycle

/// Bridges the hub's channels to an MQTT broker: every new version of an included channel is
/// published, retained, on `<topic_prefix><channel path>` as `{"version":…,"ts":…,"value":…}`.
///
/// A consumer like the push loops: it owns a change feed of the `ChannelStore` and a thread of
/// its own, so a slow or absent broker delays only the bridge, never a publisher or a client.
/// While the broker is away the bridge conflates per channel (newest wins) and hands
/// libmosquitto at most `maxInflight` messages; on every (re)connect the broker receives the
/// latest version of every included channel, and nothing older after it.
///
/// Birth and death: `<topic_prefix>/$status` is `online` (retained) after each connect, and the
/// same topic is the MQTT last will with `offline`, which the broker publishes if the hub
/// vanishes; a graceful shutdown sends the last versions, then `offline`, then DISCONNECT.
///
/// `@unchecked Sendable` is safe: the mutable state (`shared`) is read and written only with
/// `condition` locked — by the bridge's thread, libmosquitto's network thread (in the
/// `MosquittoEvents` callbacks) and the publishers that wake the bridge; everything else is
/// immutable after `init`.
///
/// Lock order: the bridge's thread holds `condition` while it calls `mosquitto_publish` (one
/// message at a time, so the callbacks never wait for a batch), which
/// takes libmosquitto's internal mutexes; libmosquitto's thread calls back into the bridge
/// (taking `condition`) holding only its callback mutex, which `mosquitto_publish` never takes.
/// The one callback that runs under a mutex `mosquitto_publish` does take — the log callback —
/// touches `condition` only for errors and warnings, and is installed only while not connected,
/// when the bridge's thread publishes nothing.
public final class MQTTBridge: Service, @unchecked Sendable {
    public let configuration: BridgeConfiguration
    /// `/plenum/bridges/<name>/status`.
    public let statusPath: ChannelPath
    let store: ChannelStore
    /// Where downstream writes go (nil: the hub takes no writes).
    let commands: CommandRouter?
    let logger: Logger
    let metrics: BridgeMetrics
    let condition = MonotonicCondition()
    var shared: Shared
    /// `<topic_prefix>/$status`, as a C string.
    let statusTopic: [CChar]

    /// The state the bridge's thread shares with libmosquitto's network thread.
    struct Shared {
        var outbox: BridgeOutbox
        var client: MosquittoClient?
        var connected = false
        /// +1 per successful connect: the bridge's thread then resends every channel's latest.
        var connectGeneration = 0
        /// +1 per connect and per loss: the status channel says so at once.
        var connectionEvents = 0
        var stopping = false
        var feedPending = false
        var failed = false
        var lastError: String?
        /// Problems logged since the last connect (each is logged once until then).
        var logged: Set<String> = []
        var connects: UInt64 = 0
        var connectionLosses: UInt64 = 0
        var publishErrors: UInt64 = 0
        /// The `offline` message of a graceful shutdown, until acknowledged.
        var offlineMid: Int32?
        var offlineAcknowledged = false
        /// Downstream writes submitted and not yet answered.
        var pendingWrites = 0
        /// Downstream writes answered, by outcome code.
        var writes: [String: UInt64] = [:]
    }

    /// - Throws: `BridgeError.invalidName` when the name cannot name a status channel.
    public init(
        configuration: BridgeConfiguration,
        store: ChannelStore,
        commands: CommandRouter? = nil,
        logger: Logger,
        metrics: any MetricsFactory
    ) throws(BridgeError) {
        guard let statusPath = try? ChannelPath("/plenum/bridges/\(configuration.name)/status"),
            !configuration.name.contains("/")
        else {
            throw BridgeError(.invalidName, "'\(configuration.name)' cannot name a bridge")
        }
        self.configuration = configuration
        self.statusPath = statusPath
        self.store = store
        self.commands = commands
        var logger = logger
        logger[metadataKey: "bridge.name"] = "\(configuration.name)"
        self.logger = logger
        self.metrics = BridgeMetrics(bridge: configuration.name, factory: metrics)
        self.shared = Shared(outbox: BridgeOutbox(window: configuration.maxInflight))
        self.statusTopic = Array(configuration.statusTopic.utf8CString)
    }

    /// Runs the bridge on its own thread until graceful shutdown, then sends what is left (for at
    /// most `flushSeconds`), `offline`, and disconnects.
    public func run() async throws {
        let (finished, finish) = AsyncStream.makeStream(of: Void.self)
        do {
            _ = try NamedThread(name: threadName("mqtt-")) {
                self.threadMain()
                finish.finish()
            }
        } catch {
            // The hub runs on without this bridge (returning early would end the whole group).
            logger.error("bridge not started: \(error)")
            finish.finish()
            try? await gracefulShutdown()
            return
        }
        try? await gracefulShutdown()
        condition.withLock {
            shared.stopping = true
            condition.broadcast()
        }
        for await _ in finished {}
    }

    /// `prefix` and as much of the name as the kernel keeps (15 bytes).
    func threadName(_ prefix: String) -> String {
        prefix + String(decoding: configuration.name.utf8.prefix(15 - prefix.utf8.count), as: UTF8.self)
    }

    /// A publisher's change reached the feed: wake the thread.
    func feedChanged() {
        condition.withLock {
            shared.feedPending = true
            condition.broadcast()
        }
    }
}

// MARK: - libmosquitto's callbacks (on its network thread)

extension MQTTBridge: MosquittoEvents {
    func connected(code: Int32) {
        guard code == 0 else {
            noteError("the broker refused the connection: \(MosquittoClient.describeConnack(code))")
            return
        }
        // `online` goes first, before the thread is woken to send data.
        let client = condition.withLock { shared.client }
        if let client {
            client.listenToLog(false)
            _ = client.publish(topic: statusTopic, payload: Self.online, qos: 1, retain: true)
            if configuration.downstream != nil,
                let failure = client.subscribeWithoutRetainedOrLocal(configuration.topicPrefix + "/#", qos: 1)
            {
                noteError("cannot subscribe to \(configuration.topicPrefix)/# for writes: \(failure)")
            }
        }
        let first = condition.withLock {
            shared.connected = true
            shared.connectGeneration += 1
            shared.connectionEvents += 1
            shared.connects += 1
            shared.logged.removeAll()
            condition.broadcast()
            return shared.connects == 1
        }
        logger.info(
            first ? "bridge connected" : "bridge reconnected",
            metadata: ["bridge.broker": "\(configuration.host):\(configuration.port)"]
        )
    }

    func disconnected(code: Int32, systemError: Int32) {
        // A broker refusing the CONNECT (credentials, client id) ends the connection with
        // libmosquitto's generic "connection refused" right after `connected(code:)` recorded the
        // broker's own reason: keep that one, or the status would read like a closed port.
        let reason =
            code == 0 || MosquittoClient.isBrokerRefusal(code)
            ? nil : MosquittoClient.describe(code, systemError: systemError)
        condition.withLock { shared.client }?.listenToLog(true)
        let wasConnected = condition.withLock {
            let was = shared.connected
            shared.connected = false
            shared.outbox.connectionLost(qos: configuration.qos)
            if was {
                shared.connectionLosses += 1
                shared.connectionEvents += 1
            }
            if let reason { shared.lastError = reason }
            condition.broadcast()
            return was
        }
        if wasConnected, let reason {
            logger.warning(
                "bridge lost its connection: \(reason); reconnecting",
                metadata: ["bridge.broker": "\(configuration.host):\(configuration.port)"]
            )
        } else if let reason {
            noteError("cannot connect to \(configuration.host):\(configuration.port): \(reason)")
        }
    }

    func published(mid: Int32) {
        condition.withLock {
            if mid == shared.offlineMid {
                shared.offlineAcknowledged = true
                condition.broadcast()
                return
            }
            guard shared.outbox.acknowledge(mid) else { return }
            let outbox = shared.outbox
            // Wake the thread when half the window is free (batches, not one wake per message),
            // or when a shutdown is waiting for the last acknowledgements.
            if shared.stopping
                || (shared.connected && outbox.sendableCount > 0 && outbox.inFlightCount <= outbox.window / 2)
            {
                condition.broadcast()
            }
        }
    }

    func received(topic: String, payload: [UInt8], retained: Bool) {
        handleMessage(topic: topic, payload: payload, retained: retained)
    }

    func logged(level: MosquittoClient.LogLevel, message: String) {
        noteError(message)
    }

    /// Records `message` as the last error; logs it unless it was logged since the last
    /// connect (a broker that stays away is logged once, not at every retry).
    func noteError(_ message: String) {
        let repeated = condition.withLock {
            shared.lastError = message
            guard !shared.logged.contains(message) else { return true }
            if shared.logged.count < 16 { shared.logged.insert(message) }
            return false
        }
        if !repeated { logger.warning("bridge: \(message)") }
    }

    static let online = Array("online".utf8)
    static let offline = Array("offline".utf8)
}
