import Logging
import NIOCore
import NIOWebSocket
import PlenumCore

/// One upgraded WebSocket connection: RFC 6455 checks, message reassembly, control frames,
/// and handing complete text messages to the connection's `SubscriptionSet`.
///
/// NIO's decoder checks frame lengths and control-frame shape; this handler adds what it does
/// not: masking, reserved bits, unknown opcodes, continuation order, message size, UTF-8 and
/// close-frame validity. A violation closes only this connection, with the RFC's code.
final class WebSocketConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame

    private let scheduler: PushScheduler
    private let connection: PushConnection
    private let initialPattern: ChannelPattern?
    /// What the upgrade request's credential was worth (see `RequestAccess`).
    private let authentication: RequestAccess.Outcome
    private let maxMessageBytes: Int
    private let metrics: PushMetrics
    private let logger: Logger
    private let allocator = ByteBufferAllocator()

    /// A fragmented message being reassembled: its opcode and bytes so far.
    private var fragments: (opcode: WebSocketOpcode, bytes: [UInt8])?

    init(
        scheduler: PushScheduler,
        connection: PushConnection,
        initialPattern: ChannelPattern?,
        authentication: RequestAccess.Outcome,
        maxMessageBytes: Int,
        metrics: PushMetrics,
        logger: Logger
    ) {
        self.scheduler = scheduler
        self.connection = connection
        self.initialPattern = initialPattern
        self.authentication = authentication
        self.maxMessageBytes = maxMessageBytes
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connection.writable = context.channel.isWritable
        switch authentication {
        case .identified(let identity):
            connection.authenticate(as: identity)
            scheduler.add(connection)
            subscribeInitialPattern()
        case .missing:
            scheduler.add(connection)
            scheduler.awaitAuthentication(connection)
        case .invalid:
            scheduler.add(connection)
            scheduler.access.failures.record(from: remoteAddress(context))
            scheduler.refuse(connection, reason: "unknown token")
        }
    }

    /// The `/ws/<pattern>` of the URL, once the connection knows who it is.
    private func subscribeInitialPattern() {
        if let initialPattern {
            scheduler.perform(connection.subscriptions.subscribe([initialPattern], id: nil), for: connection)
        }
    }

    private func remoteAddress(_ context: ChannelHandlerContext) -> String {
        context.channel.remoteAddress.map { "\($0)" } ?? "unknown"
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduler.remove(connection)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.writable = context.channel.isWritable
        if connection.writable { scheduler.catchUp(connection) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error as? NIOWebSocketError {
        case .invalidFrameLength:
            tooBig()
        case .fragmentedControlFrame:
            fail(.protocolError, "control frames must not be fragmented")
        case .multiByteControlFrameLength:
            fail(.protocolError, "control frame longer than 125 bytes")
        case nil:
            logger.debug("connection error", metadata: ["ws.connection.id": "\(connection.id)", "error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !connection.isClosing else {
            // The client answered our close: the closing handshake is complete.
            if frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        connection.heardFrom = true
        guard frame.maskKey != nil else { return fail(.protocolError, "client frames must be masked") }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            return fail(.protocolError, "reserved bits set without a negotiated extension")
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError, "new message before the previous one finished") }
            if frame.fin {
                var data = frame.unmaskedData
                guard data.readableBytes <= maxMessageBytes else { return tooBig() }
                deliver(opcode: frame.opcode, data.readBytes(length: data.readableBytes) ?? [], context: context)
            } else {
                fragments = (frame.opcode, [])
                append(frame, context: context)
            }
        case .continuation:
            guard fragments != nil else {
                return fail(.protocolError, "continuation frame without a message to continue")
            }
            append(frame, context: context)
        case .ping:
            scheduler.queue(ServerFrame.pong(frame.unmaskedData, allocator: allocator), to: connection)
        case .pong:
            break
        case .connectionClose:
            receivedClose(frame.unmaskedData)
        default:
            fail(.protocolError, "unknown opcode \(frame.opcode)")
        }
    }

    private func append(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        guard var message = fragments else { return }
        var data = frame.unmaskedData
        guard message.bytes.count + data.readableBytes <= maxMessageBytes else { return tooBig() }
        message.bytes.append(contentsOf: data.readBytes(length: data.readableBytes) ?? [])
        if frame.fin {
            fragments = nil
            deliver(opcode: message.opcode, message.bytes, context: context)
        } else {
            fragments = message
        }
    }

    private func deliver(opcode: WebSocketOpcode, _ bytes: [UInt8], context: ChannelHandlerContext) {
        if connection.identity == nil {
            guard opcode == .text, scheduler.authenticate(connection, message: bytes, from: remoteAddress(context))
            else {
                if opcode == .binary {
                    scheduler.refuse(connection, reason: #"authenticate first: send {"op":"auth","token":"…"}"#)
                }
                return
            }
            return subscribeInitialPattern()
        }
        if opcode == .binary {
            scheduler.perform(connection.subscriptions.receivedBinary(), for: connection)
            return
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return fail(.invalidPayload, "text message is not valid UTF-8")
        }
        logger.trace("message", metadata: ["ws.connection.id": "\(connection.id)", "ws.bytes": "\(bytes.count)"])
        scheduler.perform(connection.subscriptions.received(text: bytes), for: connection)
    }

    /// RFC 6455 §5.5.1 and §7.4: echo a valid close code; refuse malformed close frames.
    private func receivedClose(_ payload: ByteBuffer) {
        var payload = payload
        guard payload.readableBytes > 0 else {
            return connection.close(code: nil, reason: "", allocator: allocator)
        }
        guard payload.readableBytes >= 2, let code = payload.readInteger(as: UInt16.self) else {
            return fail(.protocolError, "close frame payload of 1 byte")
        }
        let valid = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
        guard valid else { return fail(.protocolError, "invalid close code \(code)") }
        let reason = payload.readBytes(length: payload.readableBytes) ?? []
        guard String(validating: reason, as: UTF8.self) != nil else {
            return fail(.invalidPayload, "close reason is not valid UTF-8")
        }
        connection.close(code: code, reason: "", allocator: allocator)
    }

    private func tooBig() {
        fragments = nil
        fail(.messageTooBig, "message larger than \(maxMessageBytes) bytes")
    }

    private func fail(_ code: ServerFrame.CloseCode, _ reason: String) {
        metrics.protocolClose(code)
        logger.debug(
            "closing connection on protocol violation",
            metadata: [
                "ws.connection.id": "\(connection.id)", "ws.close_code": "\(code.rawValue)", "reason": "\(reason)",
            ]
        )
        connection.close(code, reason: reason, allocator: allocator)
    }
}
