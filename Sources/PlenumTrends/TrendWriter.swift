import Logging
import PlenumCore
import Synchronization

/// The writer thread's loop: drain the store's feed, collect minutes, write closed minutes in
/// one transaction about once a minute, expire old rows in small steps, and at a stop write
/// everything and save the channel store.
///
/// Nothing here runs on a publisher's thread or an event loop: a slow or stuck disk stalls only
/// this thread. While it stalls, the feed keeps one mark per changed channel (bounded by the
/// channel count) and the versions beyond each channel's history are counted as missed when it
/// resumes; closed minutes wait in the buffer up to `maxPendingBytes`.
final class TrendWriter {
    /// How often the writer looks at the clock to close minutes, write and expire.
    static let housekeepingNanoseconds: UInt64 = 1_000_000_000
    /// Drains are at least this far apart, so a busy hub is drained in batches.
    static let drainIntervalNanoseconds: UInt64 = 50_000_000
    /// A minute closes this long after the wall clock leaves it (late samples still make it).
    static let closeGraceMicros: Int64 = 2_000_000
    /// Retention runs this often once caught up (and every second while behind).
    static let retentionIntervalNanoseconds: UInt64 = 60_000_000_000
    /// How long a write or a retention step waits for another program's lock on the file (a
    /// backup, a `sqlite3` shell in a transaction) before it fails and is retried later: about
    /// one drain. Waiting longer would stop the drains, and a channel publishing more than its
    /// history in that time would lose versions from the trends. The stop waits longer.
    static let lockWaitMilliseconds: Int32 = 50
    static let stopLockWaitMilliseconds: Int32 = 2_000

    private let shared: TrendShared
    private var database: TrendDatabase?
    private var retryAt = Deadline.now()
    private var retryDelaySeconds: Double = 1
    private var retentionAt = Deadline.now().adding(nanoseconds: 5_000_000_000)
    private var reported = TrendBuffer.Counters()
    private var reportedMissed: UInt64 = 0
    private var missed: UInt64 = 0
    private var lastLoggedError: String?

    init(shared: TrendShared) { self.shared = shared }

    func run() {
        defer { shared.writerFinished() }
        do {
            database = try TrendDatabase(path: shared.configuration.path)
            database?.connection.setBusyTimeout(milliseconds: Self.lockWaitMilliseconds)
            shared.update { $0.state = .running }
        } catch {
            fail(error, while: "opening")
            // Nothing will drain the feed: stop marking it, then wait for the stop.
            shared.channelStore.removeFeed(shared.feed)
            while !shared.signal.wait(until: .never) {}
            return
        }
        var lastDrain = Deadline.now()
        var housekeeping = Deadline.now().adding(nanoseconds: Self.housekeepingNanoseconds)
        while true {
            let stopping = shared.signal.wait(
                until: housekeeping,
                notBefore: lastDrain.adding(nanoseconds: Self.drainIntervalNanoseconds)
            )
            lastDrain = Deadline.now()
            drain()
            if stopping { break }
            if housekeeping.hasPassed {
                housekeeping = Deadline.now().adding(nanoseconds: Self.housekeepingNanoseconds)
                let closeBefore = TrendBuffer.minute(of: ChannelStore.nowMicros() - Self.closeGraceMicros)
                let batches = shared.buffer.seal(closingBefore: closeBefore)
                if !batches.isEmpty && retryAt.hasPassed { write(batches) }
                if retentionAt.hasPassed { expire() }
                report()
            }
        }
        finish()
    }

    private func drain() {
        let (versions, missedNow) = shared.channelStore.drainEveryVersion(shared.feed)
        missed += missedNow
        if !versions.isEmpty { shared.buffer.record(versions) }
    }

    @discardableResult
    private func write(_ batches: [TrendBuffer.Batch]) -> Bool {
        guard let database, let last = batches.last else { return false }
        let started = Deadline.now()
        do {
            try database.write(batches)
            shared.metrics.commitDuration.recordNanoseconds(Int64(clamping: started.elapsedNanoseconds))
            shared.buffer.committed(through: last.generation)
            retryDelaySeconds = 1
            let recovered = shared.status.state == .failed
            shared.update { status in
                status.state = .running
                status.error = nil
                status.lastWrite = ChannelStore.nowMicros()
            }
            if recovered {
                lastLoggedError = nil
                shared.logger.notice(
                    "trend store writes again",
                    metadata: ["trends.path": "\(database.connection.path)"]
                )
            }
            return true
        } catch {
            shared.metrics.writeErrors.increment()
            fail(error, while: "writing")
            retryAt = (try? Deadline(seconds: retryDelaySeconds)) ?? .now()
            retryDelaySeconds = min(retryDelaySeconds * 2, 60)
            return false
        }
    }

    private func expire() {
        guard let database else { return }
        do {
            let limit = 5_000
            let deleted = try database.expire(now: ChannelStore.nowMicros(), limit: limit)
            shared.metrics.rowsExpired.increment(by: deleted)
            let wait = deleted >= limit ? Self.housekeepingNanoseconds : Self.retentionIntervalNanoseconds
            retentionAt = Deadline.now().adding(nanoseconds: wait)
        } catch {
            fail(error, while: "expiring old rows")
            retentionAt = Deadline.now().adding(nanoseconds: Self.retentionIntervalNanoseconds)
        }
    }

    /// Brings the status and the metrics up to date with the buffer's counters.
    private func report() {
        let counters = shared.buffer.counters
        let pending = shared.buffer.pendingBytes
        let metrics = shared.metrics
        metrics.samplesWritten.increment(by: Int(clamping: counters.recorded - reported.recorded))
        metrics.rawSamplesDropped.increment(by: Int(clamping: counters.droppedRawSamples - reported.droppedRawSamples))
        metrics.minutesDropped.increment(by: Int(clamping: counters.droppedMinutes - reported.droppedMinutes))
        metrics.versionsMissed.increment(by: Int(clamping: missed - reportedMissed))
        metrics.pendingBytes.record(pending)
        reported = counters
        reportedMissed = missed
        let missedTotal = missed
        shared.update { status in
            status.samplesWritten = counters.recorded
            status.rawSamplesDropped = counters.droppedRawSamples
            status.minutesDropped = counters.droppedMinutes
            status.versionsMissed = missedTotal
            status.pendingBytes = pending
        }
    }

    /// The stop: write every minute (the current ones too), then save the channel store and
    /// mark the stop clean — only if nothing was published after the save looked (the hub stops
    /// its publishers first; if one still runs, the next start takes a new epoch).
    private func finish() {
        shared.stopPublishing()
        defer {
            report()
            shared.update { $0.state = .stopped }
        }
        guard let database else { return }
        database.connection.setBusyTimeout(milliseconds: Self.stopLockWaitMilliseconds)
        for _ in 0..<5 {
            drain()
            let batches = shared.buffer.seal(closingBefore: nil)
            if !batches.isEmpty && !write(batches) { return }
            guard let records = shared.channelStore.records(ifNothingPendingIn: shared.feed) else { continue }
            do {
                try database.saveState(epoch: shared.channelStore.epoch, channels: records)
                if shared.channelStore.records(ifNothingPendingIn: shared.feed) == nil {
                    try database.markUnclean()
                    shared.logger.warning(
                        "a channel was published while the trend store stopped; the next start takes a new epoch"
                    )
                } else {
                    shared.logger.info(
                        "trend store saved \(records.count) channels for the next start",
                        metadata: ["hub.epoch": "\(shared.channelStore.epoch)"]
                    )
                }
            } catch {
                fail(error, while: "saving the channels")
            }
            return
        }
        shared.logger.warning("channels kept changing while the trend store stopped; the next start takes a new epoch")
    }

    private func fail(_ error: any Error, while doing: String) {
        let message = "\(error)"
        shared.update { status in
            status.state = .failed
            status.error = message
        }
        if message != lastLoggedError {
            lastLoggedError = message
            shared.logger.error(
                "trend store failed \(doing): \(message); live data is not affected",
                metadata: ["trends.path": "\(shared.configuration.path)"]
            )
        }
    }
}

@available(*, unavailable)
extension TrendWriter: Sendable {}

extension Deadline {
    /// Nanoseconds since this (past) deadline.
    var elapsedNanoseconds: UInt64 {
        let now = Deadline.monotonicNanoseconds()
        return now > uptimeNanoseconds ? now - uptimeNanoseconds : 0
    }
}
