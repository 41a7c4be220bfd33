import Logging
import PlenumCore

/// The bridge's own thread: drain the feed, conflate, publish within the window, report status;
/// on shutdown, flush, say `offline` and disconnect.
extension MQTTBridge {
    /// What only the bridge's thread touches.
    struct Local {
        /// Per channel id: its topic as a C string when bridged, nil when not (or not decided).
        var topics: [[CChar]?] = []
        /// Per channel id: whether `topics` holds the decision yet.
        var decided: [Bool] = []
        var payload: [UInt8] = []
        var seenGeneration = 0
        var seenEvents = 0
        var skipped: UInt64 = 0
        var lastStatus: BridgeStatus?
        var nextStatus = Deadline.now()
        /// The feed is drained no earlier than this.
        var nextDrain = Deadline.now()
        /// Totals already added to the counters on /metrics.
        var reported = Totals()
    }

    struct Totals {
        var sent: UInt64 = 0
        var conflated: UInt64 = 0
        var connects: UInt64 = 0
        var losses: UInt64 = 0
        var publishErrors: UInt64 = 0
        var skipped: UInt64 = 0
        var writes: [String: UInt64] = [:]
    }

    func threadMain() {
        var local = Local()
        let client: MosquittoClient
        do {
            client = try makeClient()
        } catch {
            logger.error("bridge cannot start: \(error)")
            condition.withLock {
                shared.failed = true
                shared.lastError = error.message
            }
            refreshStatus(&local, force: true)
            condition.withLock {
                while !shared.stopping { condition.wait(until: .never) }
            }
            refreshStatus(&local, force: true, state: .stopped)
            return
        }
        logger.info(
            "bridge starting",
            metadata: [
                "bridge.broker": "\(configuration.host):\(configuration.port)",
                "bridge.client_id": "\(configuration.clientID)",
                "bridge.topic_prefix": "\(configuration.topicPrefix)",
            ]
        )
        if let failure = client.connect(
            host: configuration.host,
            port: configuration.port,
            keepalive: configuration.keepaliveSeconds
        ) {
            noteError("cannot connect to \(configuration.host):\(configuration.port): \(failure)")
        }
        // The feed first, then the snapshot: no version published in between is missed.
        let feed = store.makeFeed { [self] in feedChanged() }
        let initial = store.all()
        condition.withLock { offer(initial, resend: false, &local) }
        refreshStatus(&local, force: true)

        while true {
            condition.lock()
            while !shared.stopping && !hasWork(local) {
                // A pending feed is drained once `batchMilliseconds` after the previous drain:
                // publishers then wake the bridge once per batch, not once per publish.
                let wake = shared.feedPending ? min(local.nextDrain, local.nextStatus) : local.nextStatus
                // Timed out for the status (or with nothing pending): refresh it.
                if !condition.wait(until: wake) && (!shared.feedPending || local.nextStatus.hasPassed) { break }
            }
            let stopping = shared.stopping
            let drain = shared.feedPending && (stopping || local.nextDrain.hasPassed)
            if drain {
                shared.feedPending = false
                local.nextDrain = Deadline.now().adding(nanoseconds: batchNanoseconds)
            }
            let generation = shared.connectGeneration
            local.seenEvents = shared.connectionEvents
            condition.unlock()

            let changed = drain ? store.drain(feed) : []
            let resync = generation != local.seenGeneration ? store.all() : []
            local.seenGeneration = generation
            condition.withLock {
                offer(changed, resend: false, &local)
                offer(resync, resend: true, &local)
            }
            if !stopping { send(client, &local) }
            refreshStatus(&local)
            if stopping { break }
        }
        shutDown(client, feed, &local)
    }

    private func makeClient() throws(BridgeError) -> MosquittoClient {
        // MQTT 5 for downstream writes: its subscription options keep our own messages and
        // retained commands away; 3.1.1 otherwise, which every broker speaks.
        let client = try MosquittoClient(
            clientID: configuration.clientID,
            mqtt5: configuration.downstream != nil,
            events: self
        )
        if configuration.username != nil || configuration.password != nil {
            try client.setCredentials(username: configuration.username, password: configuration.password)
        }
        if let tls = configuration.tls {
            try client.setTLS(caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile)
        }
        try client.setWill(topic: configuration.statusTopic, payload: "offline", qos: 1, retain: true)
        client.setReconnectDelay(minimum: configuration.reconnectMinSeconds, maximum: configuration.reconnectMaxSeconds)
        client.setMaxInflight(configuration.maxInflight)
        // libmosquitto names its network thread "mosquitto loop" (in `top -H`, beside ours).
        try client.startLoop()
        condition.withLock { shared.client = client }
        return client
    }

    /// With the lock held: whether the thread has something to do.
    private var batchNanoseconds: UInt64 { UInt64(clamping: configuration.batchMilliseconds) * 1_000_000 }

    private func hasWork(_ local: Local) -> Bool {
        if (shared.feedPending && local.nextDrain.hasPassed) || shared.connectGeneration != local.seenGeneration
            || shared.connectionEvents != local.seenEvents
        {
            return true
        }
        let outbox = shared.outbox
        return shared.connected && outbox.sendableCount > 0 && outbox.inFlightCount <= outbox.window / 2
    }

    /// With the lock held: `versions` of bridged channels into the outbox.
    private func offer(_ versions: [ChannelVersion], resend: Bool, _ local: inout Local) {
        for version in versions where isBridged(version, &local) {
            shared.outbox.offer(version, resend: resend)
        }
    }

    /// Whether the channel is included, and its path can be a topic (decided once per channel).
    private func isBridged(_ version: ChannelVersion, _ local: inout Local) -> Bool {
        let id = version.channelID
        if id >= local.decided.count {
            let extra = id + 1 - local.decided.count
            local.decided.append(contentsOf: repeatElement(false, count: extra))
            local.topics.append(contentsOf: repeatElement(nil, count: extra))
        }
        if local.decided[id] { return local.topics[id] != nil }
        local.decided[id] = true
        let path = version.path
        guard configuration.includes(path), path != statusPath else { return false }
        let text = path.string
        if text.contains("+") || text.contains("#") || text == "/$status" {
            local.skipped += 1
            logger.warning(
                "bridge: channel \(text) is not bridged: '+', '#' and '/$status' cannot be MQTT topics",
                metadata: ["channel.path": "\(text)"]
            )
            return false
        }
        local.topics[id] = Array((configuration.topicPrefix + text).utf8CString)
        return true
    }

    /// Hands libmosquitto what the window allows. The lock is taken per message, not for the
    /// whole batch: libmosquitto's thread, which writes the messages and reads the
    /// acknowledgements, needs it in its callbacks and must not wait for a whole batch.
    private func send(_ client: MosquittoClient, _ local: inout Local) {
        while true {
            condition.lock()
            defer { condition.unlock() }
            guard shared.connected, let version = shared.outbox.next() else { return }
            guard let topic = local.topics[version.channelID] else { continue }
            local.payload.removeAll(keepingCapacity: true)
            version.appendVersionEntry(to: &local.payload)
            let result = topic.withUnsafeBufferPointer { topic in
                client.publish(
                    topic: topic.baseAddress!,
                    payload: local.payload,
                    qos: configuration.qos,
                    retain: configuration.retain
                )
            }
            switch result {
            case .success(let mid):
                shared.outbox.published(version, mid: mid)
            case .failure(let error) where error.isNotConnected:
                shared.outbox.notPublished(version)
                return
            case .failure(let error):
                // Refused for good (too large for the broker, say): drop this version, go on.
                shared.outbox.discard(version)
                shared.publishErrors += 1
                shared.lastError = "cannot publish \(version.path): \(error.description)"
            }
        }
    }

    /// Graceful shutdown: the last versions (for at most `flushSeconds`), `offline` (retained),
    /// DISCONNECT (so the broker drops the will), the network thread joined.
    private func shutDown(_ client: MosquittoClient, _ feed: ChangeFeed, _ local: inout Local) {
        let last = store.drain(feed)
        store.removeFeed(feed)
        let deadline = (try? Deadline(seconds: configuration.flushSeconds)) ?? .now()
        condition.withLock { offer(last, resend: false, &local) }
        send(client, &local)
        condition.lock()
        while shared.connected && !shared.outbox.isIdle && !deadline.hasPassed {
            condition.wait(until: deadline)
            if shared.outbox.sendableCount > 0 {
                condition.unlock()
                send(client, &local)
                condition.lock()
            }
        }
        let unsent = shared.outbox.pendingCount
        if shared.connected,
            case .success(let mid) = client.publish(topic: statusTopic, payload: Self.offline, qos: 1, retain: true)
        {
            shared.offlineMid = mid
            let acknowledged = (try? Deadline(seconds: 1)) ?? .now()
            while shared.connected && !shared.offlineAcknowledged && !acknowledged.hasPassed {
                condition.wait(until: acknowledged)
            }
        }
        condition.unlock()
        client.disconnect()
        client.stopLoop()
        condition.withLock { shared.client = nil }
        if unsent > 0 {
            logger.warning("bridge stopped with \(unsent) channel(s) not sent within \(configuration.flushSeconds) s")
        } else {
            logger.info("bridge stopped")
        }
        refreshStatus(&local, force: true, state: .stopped)
    }

    /// Publishes the status channel (when it changed, at most every `statusIntervalSeconds`, and
    /// at once when the connection state changed) and brings the metrics up to date.
    func refreshStatus(_ local: inout Local, force: Bool = false, state override: BridgeStatus.State? = nil) {
        let now = Deadline.now()
        let (status, totals) = condition.withLock { () -> (BridgeStatus, Totals) in
            let state: BridgeStatus.State =
                override ?? (shared.failed ? .failed : shared.connected ? .connected : .connecting)
            let outbox = shared.outbox
            let status = BridgeStatus(
                state: state,
                broker: "\(configuration.host):\(configuration.port)",
                clientID: configuration.clientID,
                topicPrefix: configuration.topicPrefix,
                queued: outbox.pendingCount,
                inFlight: outbox.inFlightCount,
                sent: outbox.acknowledged,
                conflated: outbox.conflated,
                connects: shared.connects,
                skipped: local.skipped,
                lastError: shared.lastError,
                writes: configuration.downstream == nil ? nil : shared.writes
            )
            let totals = Totals(
                sent: outbox.acknowledged,
                conflated: outbox.conflated,
                connects: shared.connects,
                losses: shared.connectionLosses,
                publishErrors: shared.publishErrors,
                skipped: local.skipped,
                writes: shared.writes
            )
            return (status, totals)
        }
        let stateChanged = local.lastStatus?.state != status.state
        guard force || stateChanged || now >= local.nextStatus else { return }
        local.nextStatus = (try? now.adding(seconds: configuration.statusIntervalSeconds)) ?? now
        metrics.connected.record(status.state == .connected ? 1 : 0)
        metrics.queuedChannels.record(status.queued)
        metrics.inFlight.record(status.inFlight)
        let previous = local.reported
        metrics.sent.increment(by: Int64(clamping: totals.sent - previous.sent))
        metrics.conflated.increment(by: Int64(clamping: totals.conflated - previous.conflated))
        metrics.connects.increment(by: Int64(clamping: totals.connects - previous.connects))
        metrics.connectionLosses.increment(by: Int64(clamping: totals.losses - previous.losses))
        metrics.publishErrors.increment(by: Int64(clamping: totals.publishErrors - previous.publishErrors))
        metrics.skippedChannels.increment(by: Int64(clamping: totals.skipped - previous.skipped))
        for (code, count) in totals.writes where count > previous.writes[code, default: 0] {
            metrics.writes[code]?.increment(by: Int64(clamping: count - previous.writes[code, default: 0]))
        }
        local.reported = totals
        if status != local.lastStatus {
            local.lastStatus = status
            store.publish(statusPath, status.json)
        }
    }
}
