import CoreMetrics
import Logging
import NIOCore
import Synchronization

/// Rejected tokens, counted exactly (`plenum_auth_failures_total`) and logged at most once a
/// second: a client trying 1,000 tokens a second costs one log line a second, with the count.
///
/// The first failure after a quiet second is logged at once; those within the next second are
/// summed and logged by the next failure after it, or by `flush()` (the server calls it every
/// second), whichever comes first.
final class AuthFailureLog: Sendable {
    private struct State {
        var pending = 0
        var latest = ""
        var lastLogged: NIODeadline?
    }

    static let interval = TimeAmount.seconds(1)

    private let state = Mutex(State())
    private let logger: Logger
    private let counter: Counter

    init(logger: Logger, counter: Counter) {
        self.logger = logger
        self.counter = counter
    }

    /// A request or connection presented a token that matches none. `from` is the client's
    /// address as text.
    func record(from address: String) {
        counter.increment()
        let now = NIODeadline.now()
        let report: (count: Int, latest: String)? = state.withLock { state in
            state.pending += 1
            state.latest = address
            guard state.lastLogged.map({ now - $0 >= Self.interval }) ?? true else { return nil }
            defer {
                state.pending = 0
                state.lastLogged = now
            }
            return (state.pending, state.latest)
        }
        if let report { log(report) }
    }

    /// Logs what was counted but not yet logged, once a second has passed since the last line.
    func flush() {
        let now = NIODeadline.now()
        let report: (count: Int, latest: String)? = state.withLock { state in
            guard state.pending > 0, state.lastLogged.map({ now - $0 >= Self.interval }) ?? true else { return nil }
            defer {
                state.pending = 0
                state.lastLogged = now
            }
            return (state.pending, state.latest)
        }
        if let report { log(report) }
    }

    private func log(_ report: (count: Int, latest: String)) {
        logger.warning(
            "rejected \(report.count) unknown token\(report.count == 1 ? "" : "s") since the last report",
            metadata: ["auth.failures": "\(report.count)", "client.address": "\(report.latest)"]
        )
    }
}
