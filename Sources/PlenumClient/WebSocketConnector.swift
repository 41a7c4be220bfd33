public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PlenumCore

/// Opens a client WebSocket to a hub: TCP connect, HTTP upgrade, then hands the channel to the
/// caller's frame handlers. Used by `plenum watch`.
public enum WebSocketConnector {
    /// The hub answered the upgrade with something other than 101.
    public struct Refused: Error, CustomStringConvertible {
        public let status: Int
        public let reasonPhrase: String
        /// The hub's `{"error": …}` text, or the body as it came.
        public let message: String

        public var description: String {
            "the hub refused the WebSocket upgrade: HTTP \(status) \(reasonPhrase)"
                + (message.isEmpty ? "" : ": \(message)")
        }
    }

    /// The connection ended before the upgrade completed.
    public struct Closed: Error, CustomStringConvertible {
        public var description: String { "the hub closed the connection before the WebSocket upgrade completed" }
    }

    /// Connects to `ws://host:port<path>` and returns once the upgrade has succeeded; throws
    /// `Refused` when the hub answers otherwise. `handlers` runs on the channel's event loop once
    /// the upgrade has succeeded and returns the handlers that will receive `WebSocketFrame`s.
    public static func connect(
        host: String,
        port: Int,
        path: String,
        token: String? = nil,
        group: EventLoopGroup,
        handlers: @escaping @Sendable (Channel) throws -> [ChannelHandler]
    ) async throws -> Channel {
        let hostHeader = "\(host):\(port)"
        let eventLoop = group.next()
        let upgraded = eventLoop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(
                        requestKey: NIOWebSocketClientUpgrader.randomRequestKey(),
                        maxFrameSize: 1 << 26,
                        automaticErrorHandling: true,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let requester = try channel.pipeline.syncOperations.context(
                                    handlerType: UpgradeRequester.self
                                )
                                channel.pipeline.syncOperations.removeHandler(context: requester, promise: nil)
                                try channel.pipeline.syncOperations.addHandlers(try handlers(channel))
                                upgraded.succeed()
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequester(path: path, host: hostHeader, token: token, outcome: upgraded)
                    )
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            upgraded.fail(error)
            throw error
        }
        try await upgraded.futureResult.get()
        return channel
    }
}

/// Sends the upgrade request once the TCP connection is up; until the upgrade succeeds (when it
/// is removed) it reads what the hub answered instead of 101 and fails `outcome` with it.
final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let path: String
    private let host: String
    /// Sent as `Authorization: Bearer`.
    private let token: String?
    private let outcome: EventLoopPromise<Void>
    private var response: HTTPResponseHead?
    private var body: [UInt8] = []
    private var failed = false

    init(path: String, host: String, token: String? = nil, outcome: EventLoopPromise<Void>) {
        self.path = path
        self.host = host
        self.token = token
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response = head
        case .body(var buffer):
            if body.count < 4096 {
                body += buffer.readBytes(length: min(buffer.readableBytes, 4096 - body.count)) ?? []
            }
        case .end:
            guard let response else { return fail(WebSocketConnector.Closed(), context: context) }
            let text = String(decoding: body, as: UTF8.self)
            let message = (try? JSONParser.parse(body))?["error"]?.stringValue ?? text
            fail(
                WebSocketConnector.Refused(
                    status: Int(response.status.code),
                    reasonPhrase: response.status.reasonPhrase,
                    message: message
                ),
                context: context
            )
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(WebSocketConnector.Closed(), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A refused upgrade is also reported as an error; the response itself follows.
        if error is NIOHTTPClientUpgradeError { return }
        fail(error, context: context)
    }

    private func fail(_ error: Error, context: ChannelHandlerContext) {
        guard !failed else { return }
        failed = true
        outcome.fail(error)
        context.close(promise: nil)
    }
}
