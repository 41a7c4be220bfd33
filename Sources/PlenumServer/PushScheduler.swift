import Logging
import NIOCore
import PlenumCore

/// The push engine of one event loop: its connections, their subscription index, and the tick.
///
/// Loop-confined. Each tick drains the loop's `ChangeFeed` (what changed since the previous
/// tick), builds each changed version's frame once, and gives every subscriber that has not
/// seen that version the same bytes; a connection's frames of one tick go out in one write.
/// Cost per tick is changes × their subscribers; an idle tick is one empty drain.
final class PushScheduler {
    let eventLoop: EventLoop
    private let store: ChannelStore
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let metrics: PushMetrics
    private let allocator = ByteBufferAllocator()
    private var feed: ChangeFeed?
    private var nextTick: Scheduled<Void>?
    private var deadline = NIODeadline.now()
    /// With `tick_ms: 0`: how publishing threads wake this loop.
    private var wakePipe: WakePipe?

    /// NIO runs queued tasks until none is left before it polls its sockets again, so an overdue
    /// tick (a pass longer than `tick_ms`) is put off this long rather than run at once: accepts,
    /// handshakes and client messages are read in between.
    static let ioGap = TimeAmount.microseconds(20)

    private var connections: [Int: PushConnection] = [:]
    /// Channel id → connections receiving it.
    private var subscribers: [Int: [PushConnection]] = [:]
    /// Pattern → connections holding it.
    private var holders: [ChannelPattern: [PushConnection]] = [:]
    /// Channel ids already matched against every pattern held on this loop.
    private var known: [Bool] = []
    private var touched: [PushConnection] = []

    init(
        eventLoop: EventLoop,
        store: ChannelStore,
        configuration: ServerConfiguration,
        logger: Logger,
        metrics: PushMetrics
    ) {
        self.eventLoop = eventLoop
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    // MARK: - Lifecycle

    /// Starts the tick, or with `tick_ms: 0` the wake-on-publish through `wakePipe` (whose
    /// `onWake` must call `tick()`).
    func start(wakePipe: WakePipe?) {
        if let wakePipe {
            self.wakePipe = wakePipe
            feed = store.makeFeed { wakePipe.wake() }
        } else {
            feed = store.makeFeed()
            deadline = .now()
            scheduleTick()
        }
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
        wakePipe?.close()
        wakePipe = nil
        if let feed { store.removeFeed(feed) }
        feed = nil
        for connection in connections.values {
            connection.close(.goingAway, reason: "server shutting down", allocator: allocator)
        }
    }

    // MARK: - Connections

    func add(_ connection: PushConnection) {
        connections[connection.id] = connection
        metrics.connections.increment()
        connection.send(
            ServerFrame.text(
                ServerMessage.welcome(epoch: store.epoch, tickMilliseconds: configuration.tickMilliseconds),
                allocator: allocator
            )
        )
    }

    func remove(_ connection: PushConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        metrics.connections.decrement()
        metrics.subscriptions.decrement(by: Double(connection.subscriptions.patterns.count))
        for pattern in connection.subscriptions.patterns { holders[pattern]?.removeAll { $0 === connection } }
        for id in connection.lastSent.keys { subscribers[id]?.removeAll { $0 === connection } }
        connection.lastSent.removeAll()
    }

    /// Carries out what the connection's protocol logic decided.
    func perform(_ actions: [SubscriptionSet.Action], for connection: PushConnection) {
        for action in actions {
            switch action {
            case .reply(let message):
                connection.send(ServerFrame.text(message, allocator: allocator))
            case .refuse(let error):
                metrics.protocolError(error.code.rawValue)
                connection.send(ServerFrame.text(ServerMessage.error(error), allocator: allocator))
            case .index(let patterns):
                index(patterns, for: connection)
            case .snapshot(let patterns, let id):
                sendSnapshot(patterns, id: id, to: connection)
            case .unindex(let patterns):
                unindex(patterns, for: connection)
            case .resume(let patterns, let id, let position):
                resume(patterns, id: id, from: position, for: connection)
            }
        }
    }

    private func index(_ patterns: [ChannelPattern], for connection: PushConnection) {
        metrics.subscriptions.increment(by: Double(patterns.count))
        let channels = store.all()
        for pattern in patterns {
            holders[pattern, default: []].append(connection)
            for version in channels where pattern.matches(version.path) {
                attach(connection, to: version.channelID)
            }
        }
    }

    private func attach(_ connection: PushConnection, to channelID: Int) {
        guard connection.lastSent[channelID] == nil else { return }
        connection.lastSent[channelID] = 0
        subscribers[channelID, default: []].append(connection)
    }

    private func unindex(_ patterns: [ChannelPattern], for connection: PushConnection) {
        metrics.subscriptions.decrement(by: Double(patterns.count))
        for pattern in patterns { holders[pattern]?.removeAll { $0 === connection } }
        for id in Array(connection.lastSent.keys) {
            guard let path = store.latest(id: id)?.path, !connection.subscriptions.matches(path) else { continue }
            connection.lastSent[id] = nil
            if let owed = connection.owed.removeValue(forKey: id) { connection.owedBytes -= owed }
            subscribers[id]?.removeAll { $0 === connection }
        }
    }

    private func sendSnapshot(_ patterns: [ChannelPattern], id: JSONValue?, to connection: PushConnection) {
        let versions = store.snapshot(matching: patterns)
        for version in versions {
            let sent = connection.lastSent[version.channelID] ?? 0
            if version.version > sent { connection.lastSent[version.channelID] = version.version }
            if let owed = connection.owed.removeValue(forKey: version.channelID) { connection.owedBytes -= owed }
        }
        connection.send(ServerFrame.text(ServerMessage.snapshot(versions, id: id), allocator: allocator))
    }

    /// Replays every version the client missed since `position`, in order, after an ack with
    /// `recovered: true`; when the epoch differs or a missed version is no longer held, acks with
    /// `recovered: false` and sends a fresh snapshot instead.
    private func resume(
        _ patterns: [ChannelPattern],
        id: JSONValue?,
        from position: ResumePosition,
        for connection: PushConnection
    ) {
        let current = store.snapshot(matching: patterns)
        var missed: [ChannelVersion] = []
        var recovered = position.epoch == store.epoch
        if recovered {
            for version in current {
                guard let gap = store.versions(of: version.path, after: position.versions[version.path.string] ?? 0)
                else {
                    recovered = false
                    break
                }
                missed += gap
            }
        }
        let ack = ServerMessage.subscribed(patterns, id: id, recovered: recovered)
        connection.send(ServerFrame.text(ack, allocator: allocator))
        guard recovered else { return sendSnapshot(patterns, id: id, to: connection) }
        var batch = allocator.buffer(capacity: missed.reduce(0) { $0 + $1.updateMessage.count + 10 })
        var replayed = 0
        for version in missed where version.version > (connection.lastSent[version.channelID] ?? 0) {
            ServerFrame.appendText(version.updateMessage, to: &batch)
            connection.lastSent[version.channelID] = version.version
            replayed += 1
        }
        metrics.messages.increment(by: Int64(replayed))
        metrics.bytes.increment(by: Int64(batch.readableBytes))
        for version in current {
            let seen = position.versions[version.path.string] ?? 0
            if seen > connection.lastSent[version.channelID] ?? 0 { connection.lastSent[version.channelID] = seen }
        }
        if batch.readableBytes > 0 { connection.send(batch) }
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
            guard let receivers = subscribers[id], !receivers.isEmpty else { continue }
            var frame: ByteBuffer?
            for connection in receivers {
                let sent = connection.lastSent[id] ?? 0
                guard sent < version.version else { continue }
                if frame == nil { frame = ServerFrame.text(version.updateMessage, allocator: allocator) }
                guard connection.writable, !connection.isClosing else {
                    owe(frame!.readableBytes, channel: id, by: connection)
                    continue
                }
                if sent > 0 { skipped += Int(version.version - sent - 1) }
                delivered += 1
                connection.lastSent[id] = version.version
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
        for (pattern, connections) in holders where pattern.matches(version.path) {
            for connection in connections { attach(connection, to: id) }
        }
    }

    /// Records that `connection` skipped a version (conflation); closes it as a slow consumer
    /// when what it holds back exceeds the cap.
    private func owe(_ bytes: Int, channel id: Int, by connection: PushConnection) {
        guard !connection.isClosing else { return }
        connection.owedBytes += bytes - (connection.owed[id] ?? 0)
        connection.owed[id] = bytes
        let pending = connection.owedBytes + connection.bufferedBytes
        if pending > configuration.maxPendingBytes {
            metrics.slowConsumerCloses.increment()
            logger.warning(
                "closing slow consumer",
                metadata: ["ws.connection.id": "\(connection.id)", "ws.pending_bytes": "\(pending)"]
            )
            connection.close(
                .slowConsumer,
                reason: "slow consumer: more than \(configuration.maxPendingBytes) bytes pending",
                allocator: allocator
            )
        }
    }

    /// The connection became writable again: send the newest version of everything it is owed.
    func catchUp(_ connection: PushConnection) {
        guard !connection.owed.isEmpty, !connection.isClosing else { return }
        var batch = allocator.buffer(capacity: connection.owedBytes)
        var delivered = 0
        var skipped = 0
        for id in connection.owed.keys {
            let sent = connection.lastSent[id] ?? 0
            guard let version = store.latest(id: id), version.version > sent else { continue }
            if sent > 0 { skipped += Int(version.version - sent - 1) }
            delivered += 1
            connection.lastSent[id] = version.version
            ServerFrame.appendText(version.updateMessage, to: &batch)
        }
        connection.owed.removeAll()
        connection.owedBytes = 0
        metrics.messages.increment(by: Int64(delivered))
        metrics.bytes.increment(by: Int64(batch.readableBytes))
        if skipped > 0 { metrics.conflated.increment(by: Int64(skipped)) }
        if batch.readableBytes > 0 { connection.send(batch) }
    }
}
