import NIOCore
import PlenumCore

/// Carrying out what a connection's `SubscriptionSet` decided: index changes, snapshots,
/// resume replays and replies.
extension PushScheduler {
    func perform(_ actions: [SubscriptionSet.Action], for connection: PushConnection) {
        guard !connection.isClosing else { return }
        // Checked before any work: a client that does not read gets no more snapshots built.
        guard mayQueue(connection) else { return closeSlowConsumer(connection) }
        for action in actions {
            switch action {
            case .reply(let message):
                queue(ServerFrame.text(message, allocator: allocator), to: connection)
            case .refuse(let error):
                metrics.protocolError(error.code)
                queue(ServerFrame.text(ServerMessage.error(error), allocator: allocator), to: connection)
            case .index(let patterns):
                indexPatterns(patterns, for: connection)
            case .snapshot(let patterns, let id):
                sendSnapshot(patterns, id: id, to: connection)
            case .unindex(let patterns):
                unindexPatterns(patterns, for: connection)
            case .resume(let patterns, let id, let position):
                resume(patterns, id: id, from: position, for: connection)
            case .write(let channel, let value, let id):
                write(WriteRequest(channel: channel, value: value, via: "ws"), id: id, for: connection)
            }
        }
    }

    private func indexPatterns(_ patterns: [ChannelPattern], for connection: PushConnection) {
        metrics.subscriptions.increment(by: Double(patterns.count))
        for pattern in patterns { index.hold(pattern, by: connection) }
        for version in versions(matching: patterns, for: connection) { index.attach(connection, to: version.channelID) }
    }

    /// The newest version of every channel matching any of `patterns` that `connection` may
    /// read, once each, sorted by path: what a subscribe attaches, a snapshot lists and a resume
    /// replays — so none of them can carry a channel the connection's token may not read.
    func versions(matching patterns: [ChannelPattern], for connection: PushConnection) -> [ChannelVersion] {
        let all = versions(matching: patterns)
        guard let identity = connection.identity else { return [] }
        if identity.grant.read.isEmpty { return [] }
        return patterns.allSatisfy(identity.canRead(allOf:)) ? all : all.filter { identity.canRead($0.path) }
    }

    /// The newest version of every channel matching any of `patterns`, once each, sorted by
    /// path: exact paths by lookup, patterns with wildcards in one pass over the store — so a
    /// dashboard subscribing to 1,000 exact paths costs 1,000 lookups, not 1,000 × channels.
    func versions(matching patterns: [ChannelPattern]) -> [ChannelVersion] {
        var exact: [ChannelVersion] = []
        var wildcards: [ChannelPattern] = []
        for pattern in patterns {
            if pattern.isExact {
                if let path = try? ChannelPath(pattern.string), let version = store.latest(path) {
                    exact.append(version)
                }
            } else {
                wildcards.append(pattern)
            }
        }
        let matched = wildcards.isEmpty ? [] : store.snapshot(matching: wildcards)
        if exact.isEmpty { return matched }
        var seen = Set(matched.map(\.channelID))
        var all = matched
        for version in exact where seen.insert(version.channelID).inserted { all.append(version) }
        return all.sorted { $0.path < $1.path }
    }

    private func unindexPatterns(_ patterns: [ChannelPattern], for connection: PushConnection) {
        metrics.subscriptions.decrement(by: Double(patterns.count))
        for pattern in patterns { index.release(pattern, by: connection) }
        // Only channels a removed pattern matched can have lost their last matching pattern.
        for channel in Array(connection.slots.keys) {
            guard let path = store.latest(id: channel)?.path, patterns.contains(where: { $0.matches(path) }),
                !connection.subscriptions.matches(path)
            else { continue }
            if let entry = index.detach(connection, from: channel) { connection.owedBytes -= entry.owed }
        }
    }

    /// Marks `version` as sent to `connection` (and no longer owed).
    ///
    /// Attaches the connection to the channel first: a snapshot or replay can hold a channel this
    /// loop's tick has not learned yet (published since the last tick) for a pattern the
    /// connection already held, and without an entry to remember the version in, the tick would
    /// send that same version again as an update (found by the WebSocket fuzz target).
    private func markSent(_ version: ChannelVersion, to connection: PushConnection) {
        index.attach(connection, to: version.channelID)
        var owed = 0
        index.update(connection, on: version.channelID) { entry in
            if version.version > entry.lastSent { entry.lastSent = version.version }
            owed = entry.owed
            entry.owed = 0
        }
        connection.owedBytes -= owed
    }

    private func lastSent(_ channel: Int, to connection: PushConnection) -> UInt64 {
        index.entry(of: connection, on: channel)?.lastSent ?? 0
    }

    private func sendSnapshot(_ patterns: [ChannelPattern], id: JSONValue?, to connection: PushConnection) {
        let versions = versions(matching: patterns, for: connection)
        for version in versions { markSent(version, to: connection) }
        queue(ServerFrame.text(ServerMessage.snapshot(versions, id: id), allocator: allocator), to: connection)
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
        let current = versions(matching: patterns, for: connection)
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
        queue(ServerFrame.text(ack, allocator: allocator), to: connection)
        guard recovered else { return sendSnapshot(patterns, id: id, to: connection) }
        var batch = allocator.buffer(capacity: missed.reduce(0) { $0 + $1.updateMessage.count + 10 })
        var replayed = 0
        for version in missed where version.version > lastSent(version.channelID, to: connection) {
            ServerFrame.appendText(version.updateMessage, to: &batch)
            markSent(version, to: connection)
            replayed += 1
        }
        metrics.messages.increment(by: Int64(replayed))
        metrics.bytes.increment(by: Int64(batch.readableBytes))
        for version in current {
            let seen = position.versions[version.path.string] ?? 0
            if seen > lastSent(version.channelID, to: connection) {
                index.attach(connection, to: version.channelID)  // see markSent
                index.update(connection, on: version.channelID) { $0.lastSent = seen }
            }
        }
        if batch.readableBytes > 0 { queue(batch, to: connection) }
    }
}
