/// The thread that answers `timeout` for writes their device does not acknowledge in time.
///
/// Started on demand by the first `schedule(_:)`, it sleeps on a monotonic condition until the
/// earliest deadline it was given, calls `fire` (which answers what is overdue and returns the
/// next deadline), and ends by itself after `idleSeconds` with nothing to wait for — so a hub
/// that never receives a write runs no timer thread, and nothing needs stopping.
///
/// `@unchecked Sendable` is safe: `wakeAt` and `running` are read and written only with
/// `condition`'s lock held.
final class CommandTimer: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var wakeAt = Deadline.never
    private var running = false
    private let idleSeconds: Double
    /// Answers overdue writes; returns the next deadline (nil: nothing pending, or the router is gone).
    private let fire: @Sendable () -> Deadline?

    init(idleSeconds: Double = 5, fire: @escaping @Sendable () -> Deadline?) {
        self.idleSeconds = idleSeconds
        self.fire = fire
    }

    /// Makes sure `fire` runs at or soon after `deadline`. False when no thread could be started
    /// (the system refuses another thread): the caller must not count on a timeout then.
    func schedule(_ deadline: Deadline) -> Bool {
        condition.withLock {
            if deadline < wakeAt {
                wakeAt = deadline
                condition.broadcast()
            }
            if running { return true }
            // Unnamed: the thread keeps the name of the one that scheduled the first write.
            do {
                _ = try NamedThread(name: nil, stackSize: 256 << 10) { self.loop() }
            } catch {
                return false
            }
            running = true
            return true
        }
    }

    private func loop() {
        condition.lock()
        var idleSince = Deadline.now()
        while true {
            if wakeAt.hasPassed {
                wakeAt = .never
                condition.unlock()
                let next = fire()
                condition.lock()
                if let next, next < wakeAt { wakeAt = next }
                idleSince = Deadline.now()
                continue
            }
            if wakeAt.isNever {
                let idleEnd = (try? idleSince.adding(seconds: idleSeconds)) ?? .now()
                if idleEnd.hasPassed {
                    running = false
                    condition.unlock()
                    return
                }
                condition.wait(until: idleEnd)
            } else {
                condition.wait(until: wakeAt)
            }
        }
    }
}
