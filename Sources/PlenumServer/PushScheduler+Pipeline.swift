import NIOCore
import NIOHTTP1
import NIOWebSocket
import PlenumCore

#if TLS
import NIOSSL
#endif

/// The handlers an upgraded WebSocket gets on this scheduler's loop.
extension PushScheduler {
    /// Completes the pipeline of a connection NIO's upgrader has just switched to WebSocket
    /// (its frame encoder and decoder are in place): the raw write tap first, then the connection
    /// handler, which joins this scheduler and subscribes to the pattern in `uri`, if any, once
    /// the credential in `headers` (or a later `auth` message) identifies the client.
    /// `PushServer` calls it for every 101; `PushLoop` for harnesses, which may stand a handler
    /// for the socket at the head (`socket`): the tap then goes right above it.
    ///
    /// Pre-built frames enter below the frame encoder — and above TLS, which then encrypts each
    /// flush's bytes together: still one write per tick.
    func addConnection(
        to channel: Channel,
        uri: String,
        headers: HTTPHeaders,
        id: Int,
        socket: ChannelHandler? = nil
    ) throws {
        let tap = RawWriteTap()
        let position = Self.tapPosition(channel, socket: socket)
        try channel.pipeline.syncOperations.addHandler(tap, position: position)
        let output = try channel.pipeline.syncOperations.context(handler: tap)
        let connection = PushConnection(
            id: id,
            output: output,
            subscriptions: SubscriptionSet(
                limit: configuration.maxSubscriptions,
                byteLimit: configuration.maxSubscriptionBytes
            ),
            socket: directSocket(channel, tapPosition: position)
        )
        let handler = WebSocketConnectionHandler(
            scheduler: self,
            connection: connection,
            initialPattern: WebSocketTarget(uri: uri).pattern,
            authentication: RequestAccess.authenticate(
                RequestAccess.credential(headers, webSocket: true),
                policy: access.policy
            ),
            maxMessageBytes: configuration.maxMessageBytes,
            metrics: metrics,
            logger: logger
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        logger.debug("websocket connected", metadata: ["ws.connection.id": "\(id)", "ws.uri": "\(uri)"])
    }

    /// The fast path's seam: a connection sends straight to its socket only when the tap is the
    /// first handler (nothing — no TLS, no harness — between the tap and the socket), and the
    /// configuration allows it.
    private func directSocket(
        _ channel: Channel,
        tapPosition: ChannelPipeline.SynchronousOperations.Position
    ) -> DirectSocket? {
        guard configuration.directSends, case .first = tapPosition else { return nil }
        return DirectSocket.find(for: channel)
    }

    /// Right above the socket: above TLS when the connection has it, else above `socket` (a
    /// harness's) or first.
    private static func tapPosition(
        _ channel: Channel,
        socket: ChannelHandler?
    ) -> ChannelPipeline.SynchronousOperations.Position {
        #if TLS
        if let tls = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
            return .after(tls)
        }
        #endif
        return socket.map { .after($0) } ?? .first
    }

    /// The largest frame NIO's decoder accepts: a whole message, and never less than a control
    /// frame's 125 bytes.
    static func maxFrameSize(_ configuration: ServerConfiguration) -> Int { max(configuration.maxMessageBytes, 125) }
}
