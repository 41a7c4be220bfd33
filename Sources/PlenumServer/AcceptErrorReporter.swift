import Logging
import NIOCore
import PlenumCore

#if canImport(Glibc)
import Glibc
#endif

/// Decides how long accepting pauses after `accept(2)` fails, and says so — at most one log line
/// per `logInterval`, each failure counted in `plenum_server_accept_errors_total`.
///
/// Without a pause, a process out of file descriptors (EMFILE/ENFILE) would retry the accept at
/// once, forever: the listening socket stays readable, the loop spins at 100 % of a core and
/// serves no one. Confined to the listening channel's event loop.
final class AcceptErrorReporter {
    private let logger: Logger
    private let metrics: PushMetrics
    private var lastLogged: NIODeadline?
    private var suppressed = 0

    static let logInterval = TimeAmount.seconds(10)

    init(logger: Logger, metrics: PushMetrics) {
        self.logger = logger
        self.metrics = metrics
    }

    /// The pause after `error`.
    func backoff(after error: IOError) -> TimeAmount? {
        metrics.acceptErrors.increment()
        let now = NIODeadline.now()
        if let lastLogged, now - lastLogged < Self.logInterval {
            suppressed += 1
        } else {
            let code = error.errnoCode
            let system = SystemError("accept", code: code)
            var metadata: Logger.Metadata = [
                "server.accept_pause_ms": "\(PushServer.acceptBackoff.nanoseconds / 1_000_000)"
            ]
            if suppressed > 0 { metadata["server.accept_errors_since_last_log"] = "\(suppressed)" }
            let hint =
                code == EMFILE || code == ENFILE
                ? " (out of file descriptors: raise LimitNOFILE or lower server.max_connections)" : ""
            logger.error("\(system); pausing accepts\(hint)", metadata: metadata)
            lastLogged = now
            suppressed = 0
        }
        return PushServer.acceptBackoff
    }
}
