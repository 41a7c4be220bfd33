import Logging
import NIOCore
import PlenumCore

/// The push engine of one event loop: its connections, their subscriber index, and the tick.
///
/// Loop-confined. Each tick drains the loop's `ChangeFeed` (what changed since the previous
/// tick), builds each changed version's frame once, and gives every subscriber that has not
/// seen that version the same bytes; a connection's frames of one tick go out in one write.
/// Cost per tick is changes × their subscribers; an idle tick is one empty drain.
///
/// Subscription changes are in `PushScheduler+Subscriptions.swift`, the slow-consumer
/// accounting (what a connection may have queued) in `PushScheduler+Backpressure.swift`.
final class PushScheduler {
    let eventLoop: EventLoop
    let store: ChannelStore
    let configuration: ServerConfiguration
    let logger: Logger
    let metrics: PushMetrics
    /// The current policy, for connections that authenticate by message.
    let access: ServerAccess
    /// Where clients' writes go (nil: this hub takes none; writes are answered `not_writable`).
    let commands: CommandRouter?
    let allocator = ByteBufferAllocator()
    private var feed: ChangeFeed?
    private var nextTick: Scheduled<Void>?
    private var nextSweep: Scheduled<Void>?
    private var deadline = NIODeadline.now()
    /// With `tick_ms: 0`: how publishing threads wake this loop.
    private var wakePipe: WakePipe?

    /// NIO runs queued tasks until none is left before it polls its sockets again, so an overdue
    /// tick (a pass longer than `tick_ms`) is put off this long rather than run at once: accepts,
    /// handshakes and client messages are read in between.
    static let ioGap = TimeAmount.microseconds(20)

    private(set) var connections: [Int: PushConnection] = [:]
    var index = SubscriberIndex<PushConnection>()
    /// Channel ids already matched against every pattern held on this loop.
    private var known: [Bool] = []
    private var touched: [PushConnection] = []
    /// Connections found over the pending cap during a fan-out, closed once it is done.
    private var overCap: [PushConnection] = []

    init(
        eventLoop: EventLoop,
        store: ChannelStore,
        configuration: ServerConfiguration,
        logger: Logger,
        metrics: PushMetrics,
        access: ServerAccess,
        commands: CommandRouter? = nil
    ) {
        self.commands = commands
        self.eventLoop = eventLoop
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.access = access
    }

    // MARK: - Lifecycle

    /// Starts the tick, or with `tick_ms: 0` the wake-on-publish through `wakePipe` (whose
    /// `onWake` must call `tick()`), and the keep-alive sweep.
    func start(wakePipe: WakePipe?) {
        if let wakePipe {
            self.wakePipe = wakePipe
            feed = store.makeFeed { wakePipe.wake() }
        } else {
            feed = store.makeFeed()
            deadline = .now()
            scheduleTick()
        }
        scheduleSweep()
    }

    /// Starts the change feed and the keep-alive sweep but no tick: the owner calls `tick()`
    /// (`PushLoop`, whose loop may be an `EmbeddedEventLoop` with a clock of its own).
    func startUnticked() {
        feed = store.makeFeed()
        scheduleSweep()
    }

    private func scheduleTick() {
        // Fixed rate: the next deadline is one tick after the previous one, not after this pass.
        deadline = deadline + .milliseconds(Int64(configuration.tickMilliseconds))
        let now = NIODeadline.now()
        if deadline < now { deadline = now + Self.ioGap }
        nextTick = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            tick()
            scheduleTick()
        }
    }

    /// Stops ticking and closes every connection with 1001 (going away).
    func shutdown() {
        nextTick?.cancel()
        nextTick = nil
        nextSweep?.cancel()
        nextSweep = nil
        wakePipe?.close()
        wakePipe = nil
        if let feed { store.removeFeed(feed) }
        feed = nil
        for connection in connections.values {
            connection.close(.goingAway, reason: "server shutting down", allocator: allocator)
        }
    }

    // MARK: - Connections

    /// Registers a connection; one that has authenticated gets its `welcome` now, one that has
    /// not gets it after `{"op":"auth"}` (`PushScheduler+Access.swift`).
    func add(_ connection: PushConnection) {
        connections[connection.id] = connection
        metrics.connections.increment()
        if connection.identity != nil { welcome(connection) }
    }

    func welcome(_ connection: PushConnection) {
        let welcome = ServerMessage.welcome(
            epoch: store.epoch,
            tickMilliseconds: configuration.tickMilliseconds,
            identity: connection.identity?.name ?? ""
        )
        queue(ServerFrame.text(welcome, allocator: allocator), to: connection)
    }

    func remove(_ connection: PushConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        metrics.connections.decrement()
        metrics.subscriptions.decrement(by: Double(connection.subscriptions.patterns.count))
        index.remove(connection, patterns: connection.subscriptions.patterns)
        connection.owedBytes = 0
    }

    // MARK: - Keep-alive

    private func scheduleSweep() {
        let interval = TimeAmount.milliseconds(Int64(configuration.pingIntervalMilliseconds))
        nextSweep = eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            sweep()
            scheduleSweep()
        }
    }

    /// Pings each connection silent since the previous sweep; closes one that stayed silent
    /// after a ping with 1001.
    func sweep() {
        var silent: [PushConnection] = []
        for connection in connections.values where !connection.isClosing {
            if connection.heardFrom {
                connection.heardFrom = false
                connection.pinged = false
            } else if !connection.pinged {
                connection.pinged = true
                queue(ServerFrame.ping(allocator: allocator), to: connection)
            } else {
                silent.append(connection)
            }
        }
        for connection in silent {
            metrics.timeout("ping")
            logger.debug("closing silent connection", metadata: ["ws.connection.id": "\(connection.id)"])
            connection.close(.goingAway, reason: "no answer to ping", allocator: allocator)
        }
    }

    // MARK: - Push

    /// Pushes every version published since the previous tick to the connections that want it.
    func tick() {
        guard let feed else { return }
        let changes = store.drain(feed)
        if changes.isEmpty { return }
        let started = NIODeadline.now()
        var delivered = 0
        var skipped = 0
        for version in changes {
            let id = version.channelID
            if id >= known.count || !known[id] { learn(version) }
            guard index.count(of: id) > 0 else { continue }
            let newest = version.version
            var frame: ByteBuffer?
            index.forEachEntry(on: id) { entry in
                let sent = entry.lastSent
                guard sent < newest else { return }
                let connection = entry.subscriber
                if frame == nil { frame = ServerFrame.text(version.updateMessage, allocator: allocator) }
                guard connection.writable, !connection.isClosing else {
                    if owe(frame!.readableBytes, entry: &entry) { overCap.append(connection) }
                    return
                }
                if sent > 0 { skipped += Int(newest - sent - 1) }
                delivered += 1
                entry.lastSent = newest
                if connection.batch == nil {
                    connection.batch = frame
                    touched.append(connection)
                } else {
                    var more = frame!
                    connection.batch!.writeBuffer(&more)
                }
            }
        }
        var bytes = 0
        for connection in touched {
            if let batch = connection.batch {
                bytes += batch.readableBytes
                connection.send(batch)
            }
            connection.batch = nil
        }
        touched.removeAll(keepingCapacity: true)
        if !overCap.isEmpty {
            for connection in overCap { closeSlowConsumer(connection) }
            overCap.removeAll()
        }
        metrics.messages.increment(by: Int64(delivered))
        metrics.bytes.increment(by: Int64(bytes))
        if skipped > 0 { metrics.conflated.increment(by: Int64(skipped)) }
        metrics.tickDuration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
    }

    /// A channel first seen on this loop: match it once against every pattern held here.
    private func learn(_ version: ChannelVersion) {
        let id = version.channelID
        if id >= known.count { known.append(contentsOf: repeatElement(false, count: id + 1 - known.count)) }
        known[id] = true
        for connection in index.subscribers(matching: version.path) where connection.mayReceive(version.path) {
            index.attach(connection, to: id)
        }
    }
}
