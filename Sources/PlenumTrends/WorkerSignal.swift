import PlenumCore

/// Wakes a worker thread (the trend writer, the query thread): "there is work" and "stop",
/// waited for with a monotonic `Deadline` (a step of the wall clock neither stretches nor cuts
/// a wait).
///
/// `@unchecked Sendable` is safe: `pending` and `stopping` are read and written only while
/// holding `condition`'s lock.
final class WorkerSignal: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var pending = false
    private var stopping = false

    /// There is work. A store's feed calls it on the publishing thread only when the feed goes
    /// from nothing pending to something pending — at most once per drain of the writer — and
    /// it costs an uncontended lock and, when the worker sleeps, one futex wake.
    func poke() {
        condition.withLock {
            pending = true
            condition.signal()
        }
    }

    func requestStop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    var isStopping: Bool { condition.withLock { stopping } }

    /// Waits until a poke (not before `earliest`), a stop, or `deadline`; clears the poke.
    /// Returns true when stopping.
    @discardableResult
    func wait(until deadline: Deadline, notBefore earliest: Deadline? = nil) -> Bool {
        condition.withLock {
            while !stopping {
                let pokeCounts = pending && (earliest?.hasPassed ?? true)
                if pokeCounts || deadline.hasPassed { break }
                condition.wait(until: pending ? Swift.min(earliest ?? deadline, deadline) : deadline)
            }
            pending = false
            return stopping
        }
    }
}
