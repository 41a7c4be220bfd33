import CoreMetrics
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PlenumCore

/// One event loop's push engine, outside a `PushServer`: the seam through which the WebSocket
/// fuzz target (`Tests/Fuzz/WebSocket`) drives the server's real per-connection code on an
/// `EmbeddedChannel` — NIO's frame decoder and encoder, `WebSocketConnectionHandler`, the
/// connection's `SubscriptionSet`, the scheduler's snapshots, ticks, slow-consumer cap and
/// keep-alive sweep — without a socket or `@testable import`.
///
/// `package`: for this package's harnesses, not an API of the hub. Loop-confined like the
/// scheduler it wraps: create and use it on `eventLoop` only. Nothing ticks by itself: the owner
/// calls `tick()` (so an `EmbeddedEventLoop`'s clock decides nothing about pushes); the keep-alive
/// sweep and close timeouts are scheduled on the loop as in the server.
package final class PushLoop {
    private let scheduler: PushScheduler
    /// The id the next `addConnection` gives.
    package private(set) var nextConnectionID = 1

    package init(
        eventLoop: EventLoop,
        store: ChannelStore,
        configuration: ServerConfiguration,
        logger: Logger,
        metrics: PushMetrics = PushMetrics(factory: NOOPMetricsHandler.instance)
    ) {
        scheduler = PushScheduler(
            eventLoop: eventLoop,
            store: store,
            configuration: configuration,
            logger: logger,
            metrics: metrics,
            access: ServerAccess(
                ServerSecurity(),
                failures: AuthFailureLog(logger: logger, counter: metrics.authFailures)
            )
        )
        scheduler.startUnticked()
    }

    /// Makes `channel` a WebSocket connection upgraded on `uri` (`/ws`, `/ws/PATTERN`): the
    /// handlers NIO's upgrader adds (`WebSocketFrameEncoder`, the decoder with the server's frame
    /// limit), then those `PushServer` adds after a 101. The client's raw bytes go in with
    /// `writeInbound`; the server's frames come out as raw `ByteBuffer`s, as they reach a socket.
    /// `socket`, if given, is put at the head of the pipeline, beneath every server handler, to
    /// stand for the socket: it sees every write, flush and close the server makes, the welcome
    /// included. Returns the connection's id.
    @discardableResult
    package func addConnection(to channel: Channel, uri: String, socket: ChannelHandler? = nil) throws -> Int {
        let id = nextConnectionID
        nextConnectionID += 1
        if let socket { try channel.pipeline.syncOperations.addHandler(socket, position: .first) }
        try channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(
                WebSocketFrameDecoder(maxFrameSize: PushScheduler.maxFrameSize(scheduler.configuration))
            )
        )
        try scheduler.addConnection(to: channel, uri: uri, headers: HTTPHeaders(), id: id, socket: socket)
        return id
    }

    /// Pushes what was published since the previous tick, as the server's tick does.
    package func tick() { scheduler.tick() }

    /// Closes every connection with 1001, as a server shutdown does.
    package func shutdown() { scheduler.shutdown() }

    /// Connections the scheduler holds (removed when their channel goes inactive).
    package var connectionCount: Int { scheduler.connections.count }

    /// Bytes `PushScheduler` counts against `max_pending_bytes` for connection `id`: buffered
    /// in the channel and owed as updates (nil for an unknown or removed connection).
    package func pendingBytes(ofConnection id: Int) -> Int? {
        scheduler.connections[id].map { scheduler.pendingBytes(of: $0) }
    }
}
