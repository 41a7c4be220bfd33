import PlenumCore

/// How a device thread is told to stop and woken from its blocking calls.
///
/// `@unchecked Sendable` is safe: `stopping` and `generation` are read and written only while
/// holding `condition`'s lock.
final class DeviceSignal: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var stopping = false
    private var generation = 0

    var isStopping: Bool { condition.withLock { stopping } }

    func requestStop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
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
