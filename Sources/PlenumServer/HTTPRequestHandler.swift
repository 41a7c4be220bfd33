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
/// within `idleTimeout`, or the connection is closed. A request body is kept only for a `PUT`
/// (a write), and only up to `maxBodyBytes`; a larger one is answered 413 and the connection
/// closed. A write's answer waits for the device (at most its timeout); meanwhile NIO's
/// pipelining handler holds the next request, so a connection has one write pending at most.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HTTPRoutes
    /// False when the connection arrived beyond `max_connections`: every request gets 503.
    private let admitted: Bool
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let metrics: PushMetrics
    private let maxBodyBytes: Int
    private var request: HTTPRequestHead?
    /// The body of a `PUT` so far; nil once it grew past `maxBodyBytes`.
    private var body: [UInt8]? = []
    /// A complete request whose answer waits until the connection is writable again.
    private var deferred: (head: HTTPRequestHead, body: [UInt8]?)?
    private var timer: Scheduled<Void>?

    init(
        routes: HTTPRoutes,
        admitted: Bool,
        headerTimeout: TimeAmount,
        idleTimeout: TimeAmount,
        metrics: PushMetrics,
        maxBodyBytes: Int = 65_536
    ) {
        self.maxBodyBytes = maxBodyBytes
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
            body = []
        case .body(let part):
            guard request?.method == .PUT, body != nil else { return }
            if body!.count + part.readableBytes > maxBodyBytes {
                body = nil
            } else {
                body!.append(contentsOf: part.readableBytesView)
            }
        case .end:
            guard let head = request else { return }
            request = nil
            let body = self.body
            self.body = []
            timer?.cancel()
            timer = nil
            // Backpressure: while the socket has not taken the previous answers, this one waits,
            // and so does reading (NIO's pipelining handler reads no further while a response is
            // owed).
            guard context.channel.isWritable else {
                deferred = (head, body)
                // A client that never reads does not hold its slot forever either.
                arm(idleTimeout, kind: "idle", context: context)
                return
            }
            answer(head, body: body, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let (head, body) = deferred {
            deferred = nil
            answer(head, body: body, context: context)
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

    private func answer(_ head: HTTPRequestHead, body: [UInt8]?, context: ChannelHandlerContext) {
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
            break
        case .respond(let response)?:
            return respond(context: context, head: head, response)
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
            return
        }
        guard let body else {
            var response = HTTPResponse(.payloadTooLarge, error: "the body is larger than \(maxBodyBytes) bytes")
            response.closes = true
            return respond(context: context, head: head, response)
        }
        // Who writes: the request's token, checked before the body is looked at (then per channel
        // by the router, and audited by name).
        var writer: CommandCaller?
        if head.method == .PUT {
            guard case .identified(let identity)? = routes.caller(of: head, from: remote) else {
                return respond(context: context, head: head, RequestAccess.unauthorized("no valid token"))
            }
            writer = CommandCaller(identity)
        }
        switch routes.write(head, body: body) {
        case nil:
            respond(context: context, head: head, routes.route(head, from: remote))
        case .respond(let response)?:
            respond(context: context, head: head, response)
        case .submit(let commands, let write)?:
            guard let caller = writer else {
                return respond(context: context, head: head, RequestAccess.unauthorized("no valid token"))
            }
            // Answered when the device has (or the timeout); the next request waits meanwhile.
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
            commands.submit(write, from: caller) { outcome in
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.metrics.written(outcome)
                    guard context.channel.isActive else { return }
                    handler.respond(
                        context: context,
                        head: head,
                        HTTPRoutes.writtenResponse(outcome, channel: write.channel)
                    )
                }
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse) {
        var headers = HTTPHeaders()
        // A 304 has no body, and says nothing about the one it stands for.
        if response.status != .notModified {
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: "\(response.body.count)")
        }
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
