import Synchronization

/// Open connections across all event loops, for `max_connections`.
///
/// A slot is taken when a connection is accepted and given back when its channel closes
/// (`PushServer` ties the release to `closeFuture`), whatever happened in between: an upgrade
/// whose client vanished before reading the 101 gives its slot back like any other.
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
}
