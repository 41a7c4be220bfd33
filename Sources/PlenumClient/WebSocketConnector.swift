public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens a client WebSocket to a hub: TCP connect, HTTP upgrade, then hands the channel to the
/// caller's frame handlers. Used by `plenum watch`.
public enum WebSocketConnector {
    /// Connects to `ws://host:port<path>`. `handlers` runs on the channel's event loop once the
    /// upgrade has succeeded and returns the handlers that will receive `WebSocketFrame`s.
    public static func connect(
        host: String,
        port: Int,
        path: String,
        group: EventLoopGroup,
        handlers: @escaping @Sendable (Channel) throws -> [ChannelHandler]
    ) async throws -> Channel {
        let hostHeader = "\(host):\(port)"
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(
                        requestKey: Self.randomKey(),
                        maxFrameSize: 1 << 26,
                        automaticErrorHandling: true,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandlers(try handlers(channel))
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                    try channel.pipeline.syncOperations.addHandler(UpgradeRequester(path: path, host: hostHeader))
                }
            }
        return try await bootstrap.connect(host: host, port: port).get()
    }

    /// A random 16-byte Sec-WebSocket-Key, base64.
    static func randomKey() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
            for k in 0..<4 {
                out.append(k <= chunk.count ? alphabet[(value >> (18 - 6 * k)) & 63] : "=")
            }
            index += 3
        }
        return out
    }
}

/// Sends the upgrade request once the TCP connection is up.
final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let path: String
    private let host: String

    init(path: String, host: String) {
        self.path = path
        self.host = host
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }
}
