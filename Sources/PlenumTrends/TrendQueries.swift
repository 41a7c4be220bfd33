import PlenumCore
import Synchronization

/// The query thread: history queries wait in a bounded queue and are answered one at a time
/// from the thread's own read connection. A full queue answers `busy` at once. Queries that
/// arrive before `TrendStore.run` started the thread wait for it (the server may start first).
final class TrendQueries: Sendable {
    typealias Reply = @Sendable (Result<HistoryResult, HistoryError>) -> Void

    /// Queries waiting at most; more are refused with `busy`.
    static let capacity = 16

    private struct Queue {
        var jobs: [(HistoryQuery, Reply)] = []
        var closed = false
    }

    private let queue = Mutex(Queue())
    private let signal = WorkerSignal()
    private let shared: TrendShared

    init(shared: TrendShared) { self.shared = shared }

    /// Queues `query`; answers at once when the queue is full or the store stopped.
    func submit(_ query: HistoryQuery, reply: @escaping Reply) {
        let refusal = queue.withLock { queue -> HistoryError? in
            if queue.closed { return HistoryError(.unavailable, "the trend store is stopped") }
            if queue.jobs.count >= Self.capacity {
                return HistoryError(.busy, "\(Self.capacity) history queries are already waiting; retry shortly")
            }
            queue.jobs.append((query, reply))
            return nil
        }
        if let refusal {
            shared.metrics.queriesRefused.increment()
            reply(.failure(refusal))
        } else {
            signal.poke()
        }
    }

    func stop() {
        let abandoned = queue.withLock { queue in
            queue.closed = true
            defer { queue.jobs.removeAll() }
            return queue.jobs
        }
        for (_, reply) in abandoned { reply(.failure(HistoryError(.unavailable, "the trend store is stopping"))) }
        signal.requestStop()
    }

    /// The thread's loop (until `stop`).
    func run() {
        var reader: TrendReader?
        while !signal.wait(until: .never) {
            while let (query, reply) = queue.withLock({ $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }) {
                if reader == nil {
                    do {
                        reader = try TrendReader(path: shared.configuration.path)
                    } catch {
                        reply(.failure(HistoryError(.unavailable, "the trend database cannot be read: \(error)")))
                        continue
                    }
                }
                guard let reader else { continue }
                let started = Deadline.now()
                let result = Result { () throws(HistoryError) in try answer(query, with: reader) }
                shared.metrics.queryDuration.recordNanoseconds(Int64(clamping: started.elapsedNanoseconds))
                reply(result)
            }
        }
    }

    private func answer(_ query: HistoryQuery, with reader: TrendReader) throws(HistoryError) -> HistoryResult {
        let context = TrendReader.Context(
            buffer: shared.buffer,
            storeID: shared.channelStore.latest(query.channel)?.channelID,
            policy: shared.configuration.policy(for: query.channel),
            maxPoints: shared.configuration.maxQueryPoints,
            now: ChannelStore.nowMicros()
        )
        return try reader.query(query, context)
    }
}
