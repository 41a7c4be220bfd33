import FoundationEssentials
import Glibc

/// How a device thread is told to stop and woken from its blocking calls.
///
/// `@unchecked Sendable` is safe: `stopping` and `generation` are read and written only while
/// holding `condition`'s lock.
final class DeviceSignal: @unchecked Sendable {
    private let condition = Condition()
    private var stopping = false
    private var generation = 0
    private var stopActions: [Int: @Sendable () -> Void] = [:]
    private var nextStopAction = 0

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    func requestStop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        let actions = stopActions.values
        stopActions.removeAll()
        condition.unlock()
        for action in actions { action() }
    }

    /// Runs `action` (on the stopping thread) when a stop is requested — at once if it already
    /// was. For blocking calls that cannot poll `isStopping` (a Modbus exchange). Returns a token
    /// for `removeStopAction`, or nil when it ran already.
    func addStopAction(_ action: @escaping @Sendable () -> Void) -> Int? {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            action()
            return nil
        }
        nextStopAction += 1
        stopActions[nextStopAction] = action
        condition.unlock()
        return nextStopAction
    }

    func removeStopAction(_ token: Int) {
        condition.lock()
        stopActions[token] = nil
        condition.unlock()
    }

    /// Something the device waits for may have happened (a publish it watches).
    func poke() {
        condition.lock()
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    var currentGeneration: Int {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    /// Sleeps until `deadline`; false if woken early by a stop request.
    func sleep(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopping {
            if !condition.wait(until: deadline) { return true }
        }
        return false
    }

    /// Waits until a poke after `generation`, a stop, or `deadline`. Returns the generation seen.
    func waitForPoke(after generation: Int, until deadline: Date) -> Int {
        condition.lock()
        defer { condition.unlock() }
        while !stopping && self.generation == generation {
            if !condition.wait(until: deadline) { break }
        }
        return self.generation
    }
}

/// A pthread mutex with one condition variable, waited on with wall-clock deadlines.
private final class Condition {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits for a broadcast or `deadline`, whichever comes first; false when the deadline passed.
    func wait(until deadline: Date) -> Bool {
        let seconds = deadline.timeIntervalSince1970.rounded(.down)
        var time = timespec(
            tv_sec: Int(seconds),
            tv_nsec: Int((deadline.timeIntervalSince1970 - seconds) * 1_000_000_000)
        )
        return pthread_cond_timedwait(cond, mutex, &time) != ETIMEDOUT
    }
}
