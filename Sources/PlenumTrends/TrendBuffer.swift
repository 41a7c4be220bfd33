import PlenumCore
import Synchronization

/// The minutes not yet in the database, shared by the writer thread and the query thread.
///
/// Each channel has at most one **open** minute, which collects samples as the writer drains
/// them. A minute **closes** when the channel's next sample falls in a later minute, or shortly
/// after the wall clock leaves it; closed minutes are **sealed** into a batch with a generation
/// number, and the writer stores pending batches in one transaction that also records the
/// highest generation written (`meta.write_gen`). A query reads the database in a read
/// transaction, then adds what the buffer holds beyond the generation its snapshot saw — so a
/// minute is counted once whether or not its batch committed in between.
///
/// Memory is bounded: an open minute holds one minute of one channel; sealed batches the disk
/// has not taken are capped at `maxPendingBytes`, beyond which the oldest raw samples are
/// dropped first, then the oldest aggregates (both counted).
final class TrendBuffer: Sendable {
    struct Bucket: Sendable {
        var channelID: Int
        var path: ChannelPath
        var minute: Int64
        var policy: TrendPolicy
        var aggregate: MinuteAggregate
        /// Nil when raw samples are not kept for the channel, or once dropped.
        var raw: SamplePacker?

        var bytes: Int { 96 + path.string.utf8.count + (raw?.bytes.count ?? 0) }
    }

    struct Batch: Sendable {
        var generation: Int64
        var buckets: [Bucket]
    }

    struct Counters: Sendable, Equatable {
        var recorded: UInt64 = 0
        var droppedRawSamples: UInt64 = 0
        var droppedMinutes: UInt64 = 0
    }

    private struct State {
        var policies: [TrendPolicy?] = []
        var open: [Bucket?] = []
        var closed: [Bucket] = []
        var pending: [Batch] = []
        var pendingBytes = 0
        var nextGeneration: Int64
        var counters = Counters()
    }

    static let minuteMicros: Int64 = 60_000_000

    private let configuration: TrendStoreConfiguration
    private let state: Mutex<State>

    init(configuration: TrendStoreConfiguration, firstGeneration: Int64) {
        self.configuration = configuration
        state = Mutex(State(nextGeneration: firstGeneration))
    }

    static func minute(of timestamp: Int64) -> Int64 {
        timestamp >= 0 ? timestamp / minuteMicros : (timestamp + 1) / minuteMicros - 1
    }

    /// Adds drained versions to their channels' open minutes; returns how many were numbers of
    /// trended channels.
    @discardableResult
    func record(_ versions: [ChannelVersion]) -> Int {
        state.withLock { state in
            var recorded = 0
            for version in versions {
                guard let number = TrendNumber(version.value) else { continue }
                let id = version.channelID
                if state.policies.count <= id {
                    state.policies.append(contentsOf: repeatElement(nil, count: id + 1 - state.policies.count))
                    state.open.append(contentsOf: repeatElement(nil, count: id + 1 - state.open.count))
                }
                let policy: TrendPolicy
                if let known = state.policies[id] {
                    policy = known
                } else {
                    policy = configuration.policy(for: version.path)
                    state.policies[id] = policy
                }
                guard policy.isTrended else { continue }
                let minute = Self.minute(of: version.timestamp)
                if var bucket = state.open[id], bucket.minute == minute {
                    state.open[id] = nil  // keep the packer uniquely referenced while it grows
                    bucket.aggregate.add(number.doubleValue)
                    bucket.raw?.append(timestamp: version.timestamp, number)
                    state.open[id] = bucket
                } else {
                    if let previous = state.open[id] { state.closed.append(previous) }
                    var raw: SamplePacker?
                    if policy.rawMinutes > 0 {
                        raw = SamplePacker(minuteStart: minute * Self.minuteMicros)
                        raw?.append(timestamp: version.timestamp, number)
                    }
                    state.open[id] = Bucket(
                        channelID: id,
                        path: version.path,
                        minute: minute,
                        policy: policy,
                        aggregate: MinuteAggregate(number.doubleValue),
                        raw: raw
                    )
                }
                recorded += 1
            }
            state.counters.recorded += UInt64(recorded)
            return recorded
        }
    }

    /// Closes every open minute before `minute` (all of them when nil), then seals everything
    /// closed into a new batch. Returns the batches waiting for the disk, oldest first.
    func seal(closingBefore minute: Int64?) -> [Batch] {
        state.withLock { state in
            for id in state.open.indices {
                guard let bucket = state.open[id], minute.map({ bucket.minute < $0 }) ?? true else { continue }
                state.closed.append(bucket)
                state.open[id] = nil
            }
            if !state.closed.isEmpty {
                state.pendingBytes += state.closed.reduce(0) { $0 + $1.bytes }
                state.pending.append(Batch(generation: state.nextGeneration, buckets: state.closed))
                state.nextGeneration += 1
                state.closed.removeAll()
                Self.enforceCap(&state, maxBytes: configuration.maxPendingBytes)
            }
            return state.pending
        }
    }

    /// The batches up to `generation` are in the database.
    func committed(through generation: Int64) {
        state.withLock { state in
            while let first = state.pending.first, first.generation <= generation {
                state.pendingBytes -= first.buckets.reduce(0) { $0 + $1.bytes }
                state.pending.removeFirst()
            }
        }
    }

    /// What the buffer holds of channel `id` that a database snapshot at `generation` lacks.
    func buckets(of id: Int, after generation: Int64) -> [Bucket] {
        state.withLock { state in
            var found: [Bucket] = []
            for batch in state.pending where batch.generation > generation {
                found.append(contentsOf: batch.buckets.lazy.filter { $0.channelID == id })
            }
            found.append(contentsOf: state.closed.lazy.filter { $0.channelID == id })
            if id < state.open.count, let open = state.open[id] { found.append(open) }
            return found
        }
    }

    /// The policy the writer uses for channel `id`, once it has seen a sample of it.
    func policy(of id: Int) -> TrendPolicy? {
        state.withLock { state in id < state.policies.count ? state.policies[id] : nil }
    }

    var counters: Counters { state.withLock { $0.counters } }
    var pendingBytes: Int { state.withLock { $0.pendingBytes } }

    /// Drops the oldest raw samples, then the oldest minutes, until the pending batches fit.
    private static func enforceCap(_ state: inout State, maxBytes: Int) {
        for b in state.pending.indices {
            for k in state.pending[b].buckets.indices {
                if state.pendingBytes <= maxBytes { return }
                guard let raw = state.pending[b].buckets[k].raw else { continue }
                state.counters.droppedRawSamples += UInt64(raw.count)
                state.pendingBytes -= raw.bytes.count
                state.pending[b].buckets[k].raw = nil
            }
        }
        while state.pendingBytes > maxBytes, !state.pending.isEmpty {
            var dropped = 0
            for bucket in state.pending[0].buckets {
                if state.pendingBytes <= maxBytes { break }
                state.pendingBytes -= bucket.bytes
                dropped += 1
            }
            state.counters.droppedMinutes += UInt64(dropped)
            state.pending[0].buckets.removeFirst(dropped)
            if state.pending[0].buckets.isEmpty { state.pending.removeFirst() }
        }
    }
}
