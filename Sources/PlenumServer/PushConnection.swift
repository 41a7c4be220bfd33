import NIOCore
import PlenumCore

/// One WebSocket client as its event loop's scheduler sees it. Loop-confined: created,
/// read and changed only on the connection's event loop.
final class PushConnection: IndexedSubscriber {
    let id: Int
    /// The context of the raw write tap at the head of the pipeline: writes through it skip
    /// NIO's frame encoder, so pre-built frame bytes go straight to the socket.
    let output: ChannelHandlerContext
    var subscriptions: SubscriptionSet
    /// Who this is; nil until the connection has authenticated (`{"op":"auth"}`), and then
    /// fixed: a reload that changes it closes the connection (`PushScheduler.apply(_:)`).
    private(set) var identity: Identity?
    /// Channel id → this connection's entry in the scheduler's `SubscriberIndex` (which owns it).
    var slots: [Int: Int] = [:]
    /// Mirrors `Channel.isWritable`; while false, updates are owed instead of written.
    var writable = true
    /// The sum of the index entries' `owed` bytes: updates skipped while not writable.
    var owedBytes = 0
    /// Frames collected for this connection during the current tick.
    var batch: ByteBuffer?
    var isClosing = false
    /// Whether anything arrived since the scheduler's previous keep-alive sweep.
    var heardFrom = true
    /// Whether the previous sweep pinged this connection (and nothing has arrived since).
    var pinged = false
    /// Writes handed to the command router and not yet answered (at most `max_pending_writes`).
    var pendingWrites = 0
    /// What those writes hold (`PushScheduler.heldBytes`): at most `max_message_bytes`.
    var pendingWriteBytes = 0
    /// Who writes through this connection. Anonymous until authentication sets it.
    var caller = CommandCaller.anonymous

    init(id: Int, output: ChannelHandlerContext, subscriptions: SubscriptionSet) {
        self.id = id
        self.output = output
        self.subscriptions = subscriptions
    }

    var channel: Channel { output.channel }

    /// Sets who this connection is (once); its subscriptions are judged by it from now on.
    func authenticate(as identity: Identity) {
        self.identity = identity
        subscriptions.reader = identity
        caller = CommandCaller(identity)
    }

    /// Whether `path` may be attached to this connection: the per-channel access check, made
    /// when a channel is attached (subscribe, a channel that appears, a snapshot, a replay) —
    /// never per pushed update.
    func mayReceive(_ path: ChannelPath) -> Bool {
        identity?.canRead(path) ?? false
    }

    /// The one write path of every byte sent to a client: one frame (or several joined), then a
    /// flush — one syscall. Callers have checked the slow-consumer cap (`PushScheduler.mayQueue`).
    func send(_ buffer: ByteBuffer) {
        output.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    /// Bytes NIO holds for this connection that the kernel has not taken yet.
    var bufferedBytes: Int {
        (try? channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    /// Sends a close frame and closes the connection once it is written.
    func close(_ code: ServerFrame.CloseCode, reason: String, allocator: ByteBufferAllocator) {
        close(code: code.rawValue, reason: reason, allocator: allocator)
    }

    /// Sends a close frame with `code` (nil: an empty close, echoing a client's) and ends the
    /// connection once it is written — or after `closeTimeout` when the client reads nothing (a
    /// slow consumer's close frame waits behind everything still unsent).
    ///
    /// Nothing the client sends meanwhile is read (TCP holds it off). Once the frame is out, the
    /// hub's side is shut (FIN after the data) and what the client still sends is read and
    /// dropped until it closes too: closing a socket with unread input would reset it, and the
    /// client would lose the frames — the close frame among them — still on their way.
    func close(code: UInt16?, reason: String, allocator: ByteBufferAllocator) {
        guard !isClosing else { return }
        isClosing = true
        let channel = self.channel
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        let frame = ServerFrame.close(code, reason: reason, allocator: allocator)
        let written = output.eventLoop.makePromise(of: Void.self)
        output.writeAndFlush(NIOAny(frame), promise: written)
        written.futureResult.whenComplete { result in
            guard case .success = result else { return channel.close(promise: nil) }
            channel.close(mode: .output, promise: nil)
            try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        }
        output.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    static let closeTimeout = TimeAmount.seconds(5)
}

/// A do-nothing outbound handler placed first in the pipeline; its context is where raw
/// frame bytes enter (see `PushConnection.output`).
final class RawWriteTap: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
}
