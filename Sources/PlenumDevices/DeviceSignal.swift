import PlenumCore

/// How a device thread is told to stop and woken from its blocking calls.
///
/// `@unchecked Sendable` is safe: `stopping`, `generation` and the stop actions are read and
/// written only while holding `condition`'s lock.
final class DeviceSignal: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var stopping = false
    private var generation = 0
    private var stopActions: [Int: @Sendable () -> Void] = [:]
    private var nextStopAction = 0

    var isStopping: Bool { condition.withLock { stopping } }

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
        condition.withLock {
            generation += 1
            condition.broadcast()
        }
    }

    var currentGeneration: Int { condition.withLock { generation } }

    /// Sleeps until `deadline` (monotonic); false if woken early by a stop request.
    func sleep(until deadline: Deadline) -> Bool {
        condition.withLock {
            while !stopping {
                if !condition.wait(until: deadline) { return true }
            }
            return false
        }
    }

    /// Waits until a poke after `generation`, a stop, or `deadline`. Returns the generation seen.
    func waitForPoke(after generation: Int, until deadline: Deadline) -> Int {
        condition.withLock {
            while !stopping && self.generation == generation {
                if !condition.wait(until: deadline) { break }
            }
            return self.generation
        }
    }
}
