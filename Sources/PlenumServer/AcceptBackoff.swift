import Logging
import NIOCore
import PlenumCore

#if canImport(Glibc)
import Glibc
#endif

/// On the listening channel: when `accept(2)` fails, stop accepting for `pause`, log it (at most
/// one line per `logInterval`) and count it in `plenum_server_accept_errors_total`.
///
/// Without it, a process out of file descriptors (EMFILE/ENFILE) retries the accept at once,
/// forever: the listening socket stays readable, the loop spins at 100 % of a core and serves no
/// one. (NIO's own `AcceptBackoffHandler` cannot help there: when the first accept of a wake-up
/// fails, NIO never routes the next read through the pipeline, so the pause is not applied.)
/// Pausing turns `autoRead` off, which takes the socket out of the poll set, and back on later.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = Channel

    private let logger: Logger
    private let metrics: PushMetrics
    private let pause: TimeAmount
    private var lastLogged: NIODeadline?
    private var suppressed = 0
    private var resume: Scheduled<Void>?

    static let logInterval = TimeAmount.seconds(10)

    init(pause: TimeAmount, logger: Logger, metrics: PushMetrics) {
        self.pause = pause
        self.logger = logger
        self.metrics = metrics
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let error = error as? IOError else { return context.fireErrorCaught(error) }
        metrics.acceptErrors.increment()
        report(error)
        guard resume == nil else { return }
        let channel = context.channel
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) { [self] in
            resume = nil
            try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
    }

    private func report(_ error: IOError) {
        let now = NIODeadline.now()
        if let lastLogged, now - lastLogged < Self.logInterval {
            suppressed += 1
            return
        }
        let code = error.errnoCode
        var metadata: Logger.Metadata = ["server.accept_pause_ms": "\(pause.nanoseconds / 1_000_000)"]
        if suppressed > 0 { metadata["server.accept_errors_since_last_log"] = "\(suppressed)" }
        let hint =
            code == EMFILE || code == ENFILE
            ? " (out of file descriptors: raise LimitNOFILE or lower server.max_connections)" : ""
        logger.error("\(SystemError("accept", code: code)); pausing accepts\(hint)", metadata: metadata)
        lastLogged = now
        suppressed = 0
    }
}
