import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PlenumCore

/// Plain HTTP on the WebSocket port: the REST view of the channels, health, metrics, and clear
/// answers to requests on `/ws…` that could not be upgraded (`HTTPRoutes`).
///
/// Bounded per connection: one response at a time is queued beyond what the socket takes (a
/// client that pipelines requests without reading the answers is not read from until it
/// does); a request must arrive complete within `headerTimeout` of the connection opening, or
/// within `idleTimeout` of the previous response, and a client must take a held-back answer
/// within `idleTimeout`, or the connection is closed.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    /// False when the connection arrived beyond `max_connections`: every request gets 503.
    private let admitted: Bool
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let metrics: PushMetrics
    private var request: HTTPRequestHead?
    /// A complete request whose answer waits until the connection is writable again.
    private var deferred: HTTPRequestHead?
    private var timer: Scheduled<Void>?

    init(
        routes: HTTPRoutes,
        admitted: Bool,
        headerTimeout: TimeAmount,
        idleTimeout: TimeAmount,
        metrics: PushMetrics
    ) {
        self.routes = routes
        self.admitted = admitted
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(headerTimeout, kind: "header", context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            timer?.cancel()
            timer = nil
            // Backpressure: while the socket has not taken the previous answers, this one waits,
            // and so does reading (NIO's pipelining handler reads no further while a response is
            // owed).
            guard context.channel.isWritable else {
                deferred = head
                // A client that never reads does not hold its slot forever either.
                arm(idleTimeout, kind: "idle", context: context)
                return
            }
            answer(head, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let head = deferred {
            deferred = nil
            answer(head, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Failed upgrades are reported here before the request is handed to us as plain
        // HTTP; `route` answers them. Anything else ends the connection.
        // Malformed requests have been answered 400 by NIO's `HTTPServerProtocolErrorHandler`
        // (a second answer here would be a response without a request).
        if error is NIOWebSocketUpgradeError { return }
        // A TLS client that leaves without close_notify (or fails the handshake) lands here
        // too: the connection is closed, nothing is logged per connection.
        context.close(promise: nil)
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard admitted else {
            var response = HTTPResponse(
                .serviceUnavailable,
                error: "too many connections (limit \(routes.connectionLimit))"
            )
            response.closes = true
            return respond(context: context, head: head, response)
        }
        let remote = context.channel.remoteAddress
        switch routes.history(head, from: remote) {
        case nil:
            respond(context: context, head: head, routes.route(head, from: remote))
        case .respond(let response)?:
            respond(context: context, head: head, response)
        case .ask(let source, let query, let csv)?:
            // Answered off the loop; NIO's pipelining handler holds the next request meanwhile.
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
            source.history(query) { result in
                let response = HTTPRoutes.historyResponse(result, csv: csv)
                eventLoop.execute {
                    let (handler, context) = bound.value
                    guard context.channel.isActive else { return }
                    handler.respond(context: context, head: head, response)
                }
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let keepAlive = !response.closes && head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
            promise: nil
        )
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            arm(idleTimeout, kind: "idle", context: context)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Closes the connection unless a complete request arrives within `timeout`.
    private func arm(_ timeout: TimeAmount, kind: String, context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        let metrics = self.metrics
        timer = context.eventLoop.scheduleTask(in: timeout) {
            metrics.timeout(kind)
            channel.close(promise: nil)
        }
    }
}
