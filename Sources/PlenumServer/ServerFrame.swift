import NIOCore

/// Server-to-client WebSocket frames as raw bytes (RFC 6455 §5.2: FIN set, never masked).
///
/// Built once and written below NIO's frame encoder, so one buffer can be shared by every
/// subscriber of a version.
enum ServerFrame {
    /// Close codes Plenum sends (RFC 6455 §7.4 plus the private range).
    enum CloseCode: UInt16 {
        case normal = 1000
        case goingAway = 1001
        case protocolError = 1002
        case invalidPayload = 1007
        case messageTooBig = 1009
        case internalError = 1011
        /// No valid token: an unknown one, a message other than `auth` first, or no `auth`
        /// message within the deadline.
        case unauthorized = 4001
        /// The connection's token was revoked or its grant changed by a reload.
        case revoked = 4003
        /// The client fell too far behind (its unsent bytes exceeded `max_pending_bytes`).
        case slowConsumer = 4008
    }

    static func appendHeader(opcode: UInt8, length: Int, to buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode, as: UInt8.self)
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }

    static func text(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 10)
        appendText(payload, to: &buffer)
        return buffer
    }

    /// Appends one complete text frame to `buffer` (several frames joined go out in one write).
    static func appendText(_ payload: [UInt8], to buffer: inout ByteBuffer) {
        appendHeader(opcode: 0x1, length: payload.count, to: &buffer)
        buffer.writeBytes(payload)
    }

    static func pong(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.readableBytes + 2)
        appendHeader(opcode: 0xA, length: payload.readableBytes, to: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }

    /// An empty ping (the keep-alive sweep's).
    static func ping(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2)
        appendHeader(opcode: 0x9, length: 0, to: &buffer)
        return buffer
    }

    /// A close frame; `code == nil` sends an empty close (echoing a client's empty close).
    static func close(_ code: UInt16?, reason: String = "", allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let code else {
            var buffer = allocator.buffer(capacity: 2)
            appendHeader(opcode: 0x8, length: 0, to: &buffer)
            return buffer
        }
        // Control frame payloads are at most 125 bytes: 2 for the code, 123 for the reason.
        let reasonBytes = Array(reason.utf8.prefix(123))
        var buffer = allocator.buffer(capacity: 4 + reasonBytes.count)
        appendHeader(opcode: 0x8, length: 2 + reasonBytes.count, to: &buffer)
        buffer.writeInteger(code)
        buffer.writeBytes(reasonBytes)
        return buffer
    }
}
