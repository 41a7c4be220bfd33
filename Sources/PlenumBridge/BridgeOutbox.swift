import PlenumCore

/// What the bridge still owes the broker: per channel, the newest version not yet sent (newest
/// wins), and the bounded window of messages handed to libmosquitto and not yet acknowledged.
///
/// Pure state, no sockets: the bridge calls one method per event and publishes what `next()`
/// hands out. Memory is bounded by the number of channels (one pending version each, shared
/// with the store) plus `window` in-flight entries, however long the broker is away — the hub
/// holds back instead of letting libmosquitto queue without limit.
///
/// A channel has at most one message in flight: a newer version waits for the older one's
/// acknowledgement, so the broker never receives a stale version after a newer one, even when
/// libmosquitto resends its in-flight QoS 1 messages after a reconnect.
struct BridgeOutbox {
    /// Messages in flight, at most.
    let window: Int

    /// Per channel id: the newest version waiting to be sent.
    private var pending: [ChannelVersion?] = []
    /// Per channel id: whether it is in `order`.
    private var queued: [Bool] = []
    /// Per channel id: whether a message of it is in flight.
    private var inFlightChannel: [Bool] = []
    /// Per channel id: the last version handed to libmosquitto (0: none yet).
    private var lastSent: [UInt64] = []
    /// Per channel id: the version before the first one offered (the baseline for `conflated`).
    private var baseline: [UInt64?] = []
    /// Channels with a pending version and nothing in flight, oldest first (from `head`).
    private var order: [Int] = []
    private var head = 0
    /// Message id → what it carries.
    private var inFlight: [Int32: (channel: Int, version: UInt64)] = [:]

    /// Channels with a version waiting (queued or behind an in-flight message).
    private(set) var pendingCount = 0
    /// Messages acknowledged by libmosquitto (QoS 1: PUBACK; QoS 0: written to the socket).
    private(set) var acknowledged: UInt64 = 0
    /// Versions that were never sent because a newer one of the same channel went instead.
    private(set) var conflated: UInt64 = 0

    init(window: Int) {
        self.window = max(1, window)
    }

    var inFlightCount: Int { inFlight.count }

    /// Channels that could be sent now if the window allows.
    var sendableCount: Int { order.count - head }

    /// Nothing waiting and nothing in flight.
    var isIdle: Bool { pendingCount == 0 && inFlight.isEmpty }

    // MARK: - Events

    /// A version of a bridged channel: it replaces any older pending version of its channel.
    /// Versions not newer than what was sent or is pending are ignored, unless `resend` (after a
    /// reconnect, the latest version of every channel is sent again, in case the broker lost it).
    mutating func offer(_ version: ChannelVersion, resend: Bool = false) {
        let id = version.channelID
        grow(to: id)
        if baseline[id] == nil { baseline[id] = version.version - 1 }
        if let waiting = pending[id] {
            if waiting.version >= version.version { return }
            pending[id] = version
            return
        }
        if version.version < lastSent[id] || (version.version == lastSent[id] && !resend) { return }
        pending[id] = version
        pendingCount += 1
        if !inFlightChannel[id] { enqueue(id) }
    }

    /// The next version to publish, or nil when the window is full or nothing can go.
    mutating func next() -> ChannelVersion? {
        guard inFlight.count < window else { return nil }
        while head < order.count {
            let id = order[head]
            head += 1
            queued[id] = false
            if let version = pending[id], !inFlightChannel[id] {
                compact()
                return version
            }
        }
        compact()
        return nil
    }

    /// `version` (from `next()`) was handed to libmosquitto as message `mid`.
    mutating func published(_ version: ChannelVersion, mid: Int32) {
        let id = version.channelID
        if let waiting = pending[id], waiting.version <= version.version {
            pending[id] = nil
            pendingCount -= 1
        }
        let previous = max(lastSent[id], baseline[id] ?? 0)
        if version.version > previous + 1 { conflated += version.version - previous - 1 }
        lastSent[id] = max(lastSent[id], version.version)
        inFlightChannel[id] = true
        inFlight[mid] = (id, version.version)
    }

    /// libmosquitto refused `version` (from `next()`): it stays pending for the next attempt.
    mutating func notPublished(_ version: ChannelVersion) {
        let id = version.channelID
        if pending[id] != nil && !inFlightChannel[id] { enqueue(id) }
    }

    /// libmosquitto refused `version` for good (too large for the broker): it is dropped, and
    /// the channel goes on with its next version.
    mutating func discard(_ version: ChannelVersion) {
        let id = version.channelID
        if let waiting = pending[id], waiting.version <= version.version {
            pending[id] = nil
            pendingCount -= 1
        }
        lastSent[id] = max(lastSent[id], version.version)
    }

    /// Message `mid` was acknowledged. False for ids the outbox did not hand out (`$status`).
    @discardableResult
    mutating func acknowledge(_ mid: Int32) -> Bool {
        guard let entry = inFlight.removeValue(forKey: mid) else { return false }
        acknowledged += 1
        inFlightChannel[entry.channel] = false
        if pending[entry.channel] != nil { enqueue(entry.channel) }
        return true
    }

    /// The connection dropped. QoS 0 messages not yet written are gone (libmosquitto drops them
    /// and never reports them), so their ids are forgotten; QoS 1 messages stay in flight,
    /// because libmosquitto resends them after the reconnect and reports their PUBACKs.
    mutating func connectionLost(qos: Int) {
        guard qos == 0 else { return }
        for (_, entry) in inFlight {
            inFlightChannel[entry.channel] = false
            if pending[entry.channel] != nil { enqueue(entry.channel) }
        }
        inFlight.removeAll()
    }

    // MARK: - Storage

    private mutating func enqueue(_ id: Int) {
        guard !queued[id] else { return }
        queued[id] = true
        order.append(id)
    }

    private mutating func grow(to id: Int) {
        guard id >= pending.count else { return }
        let extra = id + 1 - pending.count
        pending.append(contentsOf: repeatElement(nil, count: extra))
        queued.append(contentsOf: repeatElement(false, count: extra))
        inFlightChannel.append(contentsOf: repeatElement(false, count: extra))
        lastSent.append(contentsOf: repeatElement(0, count: extra))
        baseline.append(contentsOf: repeatElement(nil, count: extra))
    }

    /// Drops the consumed front of `order` once it is large, so the array stays bounded by the
    /// number of channels.
    private mutating func compact() {
        if head == order.count {
            order.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
