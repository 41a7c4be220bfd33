import Glibc
import PlenumCore

/// Wakes a worker thread (the trend writer, the query thread): "there is work" and "stop",
/// waited for with a monotonic `Deadline` (a step of the wall clock neither stretches nor cuts
/// a wait).
///
/// `@unchecked Sendable` is safe: `pending` and `stopping` are read and written only while
/// holding `mutex`, and the mutex and condition variable are created in `init`, destroyed in
/// `deinit`, and otherwise only passed to pthread functions, which are thread-safe.
final class WorkerSignal: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending = false
    private var stopping = false

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// There is work. A store's feed calls it on the publishing thread only when the feed goes
    /// from nothing pending to something pending — at most once per drain of the writer — and
    /// it costs an uncontended lock and, when the worker sleeps, one futex wake.
    func poke() {
        pthread_mutex_lock(mutex)
        pending = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    func requestStop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    var isStopping: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return stopping
    }

    /// Waits until a poke (not before `earliest`), a stop, or `deadline`; clears the poke.
    /// Returns true when stopping.
    @discardableResult
    func wait(until deadline: Deadline, notBefore earliest: Deadline? = nil) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopping {
            let pokeCounts = pending && (earliest?.hasPassed ?? true)
            if pokeCounts || deadline.hasPassed { break }
            let until = pending ? Swift.min(earliest ?? deadline, deadline) : deadline
            guard var time = until.monotonicTimespec else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            pthread_cond_timedwait(condition, mutex, &time)
        }
        pending = false
        return stopping
    }
}
