import PlenumCore

/// Set once, waited for with a monotonic deadline: "this device thread has ended".
///
/// `@unchecked Sendable` is safe: `isSet` is read and written only under `condition`'s lock.
final class Latch: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private var set = false

    var isSet: Bool { condition.withLock { set } }

    func open() {
        condition.withLock {
            set = true
            condition.broadcast()
        }
    }

    /// True once set; false if `deadline` passed first.
    func wait(until deadline: Deadline) -> Bool {
        condition.withLock {
            while !set {
                if !condition.wait(until: deadline) { return set }
            }
            return true
        }
    }
}
