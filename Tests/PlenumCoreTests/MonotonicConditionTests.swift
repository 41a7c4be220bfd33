import PlenumCore
import Testing

/// One waiter and one waker on a `MonotonicCondition`, the way the hub's threads use it.
/// Bounded: a wake-up that never comes fails after `Self.bound`, it does not hang the suite.
@Suite(.timeLimit(.minutes(1)))
struct MonotonicConditionTests {
    static let bound: Double = 30

    /// State shared by the waiter and the test, guarded by `condition`.
    final class Handshake: @unchecked Sendable {
        // Safe: every field is read and written only with `condition`'s lock held.
        let condition = MonotonicCondition()
        var waiting = false
        var woken = false
        var waitReturned: Bool?

        /// With the lock held: waits until `flag` holds or `deadline` passes; true if it holds.
        func waitFor(_ flag: () -> Bool, until deadline: Deadline) -> Bool {
            while !flag() {
                if !condition.wait(until: deadline) { return flag() }
            }
            return true
        }
    }

    @Test func waitWithPastDeadlineReturnsAtOnceAsTimedOut() throws {
        let condition = MonotonicCondition()
        let passed = Deadline(uptimeNanoseconds: 0)
        #expect(condition.withLock { condition.wait(until: passed) } == false)
        let now = Deadline.now()
        #expect(condition.withLock { condition.wait(until: now) } == false)
    }

    @Test(arguments: [false, true])
    func signalWakesAWaiter(untilNever: Bool) throws {
        let handshake = Handshake()
        let deadline = untilNever ? Deadline.never : try Deadline(seconds: Self.bound)
        // The waiter says it waits and then waits in the same hold of the lock, so once the test
        // sees `waiting` under the lock, the waiter is inside `wait(until:)`.
        let waiter = try NamedThread(name: "cond waiter") {
            handshake.condition.withLock {
                handshake.waiting = true
                handshake.condition.broadcast()
                var result = true
                while !handshake.woken && result { result = handshake.condition.wait(until: deadline) }
                handshake.waitReturned = result && handshake.woken
                handshake.condition.broadcast()
            }
        }
        let bound = try Deadline(seconds: Self.bound)
        let sawWaiting = handshake.condition.withLock { handshake.waitFor({ handshake.waiting }, until: bound) }
        #expect(sawWaiting)
        handshake.condition.withLock {
            handshake.woken = true
            handshake.condition.signal()
        }
        let returned = handshake.condition.withLock {
            handshake.waitFor({ handshake.waitReturned != nil }, until: bound) ? handshake.waitReturned : nil
        }
        // Woken by the signal, not by its deadline.
        #expect(returned == true)
        if returned != nil { waiter.join() }
    }
}
