import Foundation

/// How a device thread is told to stop and woken from its blocking calls.
///
/// `@unchecked Sendable` is safe: `stopping` and `generation` are read and written only while
/// holding `condition`'s lock.
final class DeviceSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopping = false
    private var generation = 0

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    func requestStop() {
        condition.lock()
        stopping = true
        condition.broadcast()
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
