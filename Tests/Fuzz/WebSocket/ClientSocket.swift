import NIOCore
import NIOEmbedded
import PlenumFuzzSupport

/// The client's end of the TCP connection, modelled at the head of the pipeline (below the
/// server's raw write tap): what the server writes stays in the channel until the client reads
/// it, and the channel's writability follows the same watermarks `PushServer` sets on real
/// sockets. Every write is checked as it is made, every byte when the client reads it.
///
/// Writes are passed on (so `EmbeddedChannel` counts them in `bufferedWritableBytes`, which is
/// what the server measures), flushes only while the client reads: an unread write stays
/// buffered, as in a socket whose peer stopped reading.
final class ClientSocket: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private unowned let channel: EmbeddedChannel
    private let maxPendingBytes: Int
    private let high: Int
    /// What the server counts against the cap before each write: set by the harness.
    var pendingBytes: () -> Int? = { nil }
    var reading = true
    private(set) var buffered = 0
    private(set) var closeFrameWritten = false
    private(set) var outputShut = false
    private(set) var closedByServer = false
    /// Set by the harness before it closes the channel as the client would (a FIN or RST).
    var clientCloses = false
    private var context: ChannelHandlerContext?
    let checker = ServerFrameChecker()

    init(channel: EmbeddedChannel, maxPendingBytes: Int) {
        self.channel = channel
        self.maxPendingBytes = maxPendingBytes
        // PushServer's high watermark: min(64 KiB, max_pending_bytes). The client reads all there
        // is each time, so the low one (half) is always passed on the way down.
        high = min(65_536, maxPendingBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// A context holds its handler: keeping it past removal would be a reference cycle.
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        invariant(!outputShut, "a write after the server shut its output")
        invariant(!closeFrameWritten, "a write after the close frame")
        let frames = checker.split(buffer)
        let isClose = frames.count == 1 && frames[0].opcode == 0x8
        if !isClose, let pending = pendingBytes() {
            // Queued only while under the cap: at most max_pending_bytes plus this one write.
            invariant(pending <= maxPendingBytes, "queued \(buffer.readableBytes) bytes with \(pending) pending")
        }
        if frames.contains(where: { $0.opcode == 0x8 }) {
            invariant(
                frames.last?.opcode == 0x8 && frames.filter({ $0.opcode == 0x8 }).count == 1,
                "frames after a close"
            )
            closeFrameWritten = true
        }
        buffered += buffer.readableBytes
        context.write(data, promise: promise)
        if buffered > high, channel.isWritable {
            channel.isWritable = false
            context.fireChannelWritabilityChanged()
        }
    }

    func flush(context: ChannelHandlerContext) {
        if reading { deliver(context) }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output {
            // The hub half-closes after its close frame (FIN behind the data).
            invariant(closeFrameWritten, "output shut without a close frame")
            outputShut = true
            promise?.succeed(())
            return
        }
        if channel.isActive, !clientCloses {
            closedByServer = true
            invariant(closeFrameWritten, "connection closed by the server without a close frame")
        }
        if !reading {
            // What the client never read is lost with the connection. A socket fails those writes;
            // EmbeddedChannel would keep them (and the callbacks on their promises, which hold the
            // channel) forever, so they are let through here and dropped unseen.
            context.flush()
            while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
            buffered = 0
        }
        context.close(mode: mode, promise: promise)
    }

    /// The client reads everything written so far.
    func read() {
        guard let context else { return }
        deliver(context)
    }

    private func deliver(_ context: ChannelHandlerContext) {
        context.flush()
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            checker.received(buffer)
        }
        buffered = 0
        if !channel.isWritable, channel.isActive {
            channel.isWritable = true
            context.fireChannelWritabilityChanged()
        }
    }
}
