import Synchronization

/// Open WebSocket connections across all event loops, for `max_connections`.
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes a slot; false (and nothing taken) when all are in use.
    func reserve() -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        count.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func release() { count.wrappingSubtract(1, ordering: .relaxed) }

    var current: Int { count.load(ordering: .relaxed) }
    var isFull: Bool { current >= limit }
}
