#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex with one condition variable whose timed waits run on `CLOCK_MONOTONIC`
/// (`pthread_condattr_setclock`), so a step of the wall clock neither stretches nor cuts them.
///
/// The state it guards lives in its owner, read and written only between `lock()` and
/// `unlock()` (or in `withLock`); whoever changes it calls `signal()` or `broadcast()` with the
/// lock held, and a waiter re-checks it in a loop around `wait(until:)`:
///
/// ```swift
/// condition.withLock {
///     while !done {
///         if !condition.wait(until: deadline) { break }
///     }
/// }
/// ```
///
/// `@unchecked Sendable` is safe: the pthread objects live in heap memory owned by this object
/// and are only used through the pthread functions, which are thread-safe by contract.
public final class MonotonicCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// With the lock held: wakes one waiter.
    public func signal() { pthread_cond_signal(cond) }

    /// With the lock held: wakes every waiter.
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Runs `body` with the lock held.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// With the lock held: waits for a signal or `deadline`, whichever comes first (`never`:
    /// until signalled); false once the deadline has passed. May return early (spurious
    /// wake-ups): callers re-check their condition in a loop.
    @discardableResult
    public func wait(until deadline: Deadline) -> Bool {
        guard var time = deadline.monotonicTimespec else {
            pthread_cond_wait(cond, mutex)
            return true
        }
        return pthread_cond_timedwait(cond, mutex, &time) != ETIMEDOUT
    }
}
