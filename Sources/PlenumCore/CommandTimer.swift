#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The thread that answers `timeout` for writes their device does not acknowledge in time.
///
/// Started on demand by the first `schedule(_:)`, it sleeps on a monotonic condition until the
/// earliest deadline it was given, calls `fire` (which answers what is overdue and returns the
/// next deadline), and ends by itself after `idleSeconds` with nothing to wait for — so a hub
/// that never receives a write runs no timer thread, and nothing needs stopping.
///
/// `@unchecked Sendable` is safe: `wakeAt` and `running` are read and written only with `mutex`
/// held; the pthread objects live in heap memory owned by this object and are used only through
/// the pthread functions, which are thread-safe by contract.
final class CommandTimer: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var wakeAt = Deadline.never
    private var running = false
    private let idleSeconds: Double
    /// Answers overdue writes; returns the next deadline (nil: nothing pending, or the router is gone).
    private let fire: @Sendable () -> Deadline?

    init(idleSeconds: Double = 5, fire: @escaping @Sendable () -> Deadline?) {
        self.idleSeconds = idleSeconds
        self.fire = fire
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

    /// Makes sure `fire` runs at or soon after `deadline`. False when no thread could be started
    /// (the system refuses another thread): the caller must not count on a timeout then.
    func schedule(_ deadline: Deadline) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if deadline < wakeAt {
            wakeAt = deadline
            pthread_cond_broadcast(cond)
        }
        if running { return true }
        running = true
        guard startThread() else {
            running = false
            return false
        }
        return true
    }

    /// With `mutex` held.
    private func startThread() -> Bool {
        final class Box {
            let timer: CommandTimer
            init(_ timer: CommandTimer) { self.timer = timer }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 256 << 10)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let box = Unmanaged.passRetained(Box(self))
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            &attributes,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                box.timer.loop()
                return nil
            },
            box.toOpaque()
        )
        guard result == 0 else {
            box.release()
            return false
        }
        return true
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        var idleSince = Deadline.now()
        while true {
            if wakeAt.hasPassed {
                wakeAt = .never
                pthread_mutex_unlock(mutex)
                let next = fire()
                pthread_mutex_lock(mutex)
                if let next, next < wakeAt { wakeAt = next }
                idleSince = Deadline.now()
                continue
            }
            if wakeAt.isNever {
                let idleEnd = (try? idleSince.adding(seconds: idleSeconds)) ?? .now()
                if idleEnd.hasPassed {
                    running = false
                    pthread_mutex_unlock(mutex)
                    return
                }
                wait(until: idleEnd)
            } else {
                wait(until: wakeAt)
            }
        }
    }

    /// With `mutex` held.
    private func wait(until deadline: Deadline) {
        guard var time = deadline.monotonicTimespec else {
            pthread_cond_wait(cond, mutex)
            return
        }
        _ = pthread_cond_timedwait(cond, mutex, &time)
    }
}
