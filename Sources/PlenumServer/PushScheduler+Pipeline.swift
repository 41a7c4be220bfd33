import NIOCore
import NIOWebSocket
import PlenumCore

/// The handlers an upgraded WebSocket gets on this scheduler's loop.
extension PushScheduler {
    /// Completes the pipeline of a connection NIO's upgrader has just switched to WebSocket
    /// (its frame encoder and decoder are in place): the raw write tap first, then the connection
    /// handler, which joins this scheduler and subscribes to the pattern in `uri`, if any.
    /// `PushServer` calls it for every 101; `PushLoop` for harnesses, which may stand a handler
    /// for the socket at the head (`socket`): the tap then goes right above it.
    func addConnection(to channel: Channel, uri: String, id: Int, socket: ChannelHandler? = nil) throws {
        let tap = RawWriteTap()
        try channel.pipeline.syncOperations.addHandler(tap, position: socket.map { .after($0) } ?? .first)
        let output = try channel.pipeline.syncOperations.context(handler: tap)
        let connection = PushConnection(
            id: id,
            output: output,
            subscriptions: SubscriptionSet(
                limit: configuration.maxSubscriptions,
                byteLimit: configuration.maxSubscriptionBytes
            )
        )
        let handler = WebSocketConnectionHandler(
            scheduler: self,
            connection: connection,
            initialPattern: WebSocketTarget(uri: uri).pattern,
            maxMessageBytes: configuration.maxMessageBytes,
            metrics: metrics,
            logger: logger
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        logger.debug("websocket connected", metadata: ["ws.connection.id": "\(id)", "ws.uri": "\(uri)"])
    }

    /// The largest frame NIO's decoder accepts: a whole message, and never less than a control
    /// frame's 125 bytes.
    static func maxFrameSize(_ configuration: ServerConfiguration) -> Int { max(configuration.maxMessageBytes, 125) }
}
