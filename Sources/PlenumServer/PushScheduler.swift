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
    /// The frames of the current tick, written once each (ticks with several changes).
    private var joined = ByteBuffer()
    /// Where each of them starts in `joined`.
    private var frameStarts: [Int] = []
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
        connection.detachSocket()
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
    ///
    /// One change (a single channel, or a slow producer with tick 0): each connection gets one
    /// frame, sent during the fan-out while its state is in cache (`PushConnection.sendDirectly`,
    /// which never calls into NIO, so the index is not changed under the walk); only what the
    /// socket does not take waits for the pass after it.
    ///
    /// Several: each changed version's frame is written once into `joined`, one after another,
    /// and a connection that gets a contiguous run of them — usually all: its subscribers want the
    /// same channels — holds only the run's bounds and is sent a slice of `joined` (the same
    /// bytes for all, nothing copied); one that skips a frame in the middle gets a buffer of its
    /// own from then on. One write per connection per tick either way.
    func tick() {
        guard let feed else { return }
        let changes = store.drain(feed)
        if changes.isEmpty { return }
        let started = NIODeadline.now()
        var delivered = 0
        var skipped = 0
        var bytes = 0
        let single = changes.count == 1
        if !single {
            // Sized by the previous tick's bytes, not the largest tick ever seen.
            joined = allocator.buffer(capacity: max(joined.writerIndex, 1024))
            frameStarts.removeAll(keepingCapacity: true)
        }
        for version in changes {
            let id = version.channelID
            if id >= known.count || !known[id] { learn(version) }
            guard index.count(of: id) > 0 else { continue }
            let newest = version.version
            var frame: ByteBuffer?
            // This version's frame: `frame` (single) or frame number `joinedFrame` of `joined`.
            var frameBytes = 0
            var joinedFrame = -1
            index.forEachEntry(on: id) { entry in
                let sent = entry.lastSent
                guard sent < newest else { return }
                let connection = entry.subscriber
                if frameBytes == 0 {
                    if single {
                        frame = ServerFrame.text(version.updateMessage, allocator: allocator)
                    } else {
                        joinedFrame = frameStarts.count
                        frameStarts.append(joined.writerIndex)
                        ServerFrame.appendText(version.updateMessage, to: &joined)
                    }
                    frameBytes = frame?.readableBytes ?? (joined.writerIndex - frameStarts[joinedFrame])
                }
                guard connection.writable, !connection.isClosing else {
                    if owe(frameBytes, entry: &entry) { overCap.append(connection) }
                    return
                }
                if sent > 0 { skipped += Int(newest - sent - 1) }
                delivered += 1
                entry.lastSent = newest
                bytes += frameBytes
                if single {
                    guard let rest = connection.sendDirectly(frame!) else { return }
                    connection.batch = rest
                    touched.append(connection)
                } else if connection.batch == nil && connection.run.isEmpty {
                    connection.run = joinedFrame..<joinedFrame + 1
                    touched.append(connection)
                } else if connection.batch == nil && connection.run.upperBound == joinedFrame {
                    connection.run = connection.run.lowerBound..<joinedFrame + 1
                } else {
                    if connection.batch == nil {
                        connection.batch = joinedBytes(connection.run, spare: frameBytes * min(changes.count, 8))
                        connection.run = 0..<0
                    }
                    connection.batch!.writeImmutableBuffer(joinedBytes(joinedFrame..<joinedFrame + 1))
                }
            }
        }
        for connection in touched {
            if let batch = connection.batch {
                connection.send(batch)
            } else if !connection.run.isEmpty {
                connection.send(joinedBytes(connection.run))
            }
            connection.batch = nil
            connection.run = 0..<0
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

    /// Frames `run` of this tick's `joined` buffer: a slice sharing its storage, or, with `spare`,
    /// a copy with room for that many more bytes.
    private func joinedBytes(_ run: Range<Int>, spare: Int? = nil) -> ByteBuffer {
        let start = frameStarts[run.lowerBound]
        let end = run.upperBound < frameStarts.count ? frameStarts[run.upperBound] : joined.writerIndex
        let slice = joined.getSlice(at: start, length: end - start)!
        guard let spare else { return slice }
        var copy = allocator.buffer(capacity: slice.readableBytes + spare)
        copy.writeImmutableBuffer(slice)
        return copy
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
