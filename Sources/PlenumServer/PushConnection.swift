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
    /// Frames collected for this connection during the current tick, when they are not one run
    /// of the tick's joined frames.
    var batch: ByteBuffer?
    /// The run of the tick's joined frames this connection gets (`PushScheduler.tick`).
    var run = 0..<0
    var isClosing = false
    /// Whether anything arrived since the scheduler's previous keep-alive sweep.
    var heardFrom = true
    /// Whether the previous sweep pinged this connection (and nothing has arrived since).
    var pinged = false
    /// The socket for direct sends (the fast path); nil: every byte goes through NIO (TLS, a
    /// harness, or a descriptor that could not be verified). Dropped once the connection closes.
    private var socket: DirectSocket?
    /// Writes handed to NIO and not yet taken by the kernel. While there is one, `send` queues
    /// behind it in NIO too: a direct send would overtake it.
    private(set) var queuedInNIO = 0
    /// Writes handed to the command router and not yet answered (at most `max_pending_writes`).
    var pendingWrites = 0
    /// What those writes hold (`PushScheduler.heldBytes`): at most `max_message_bytes`.
    var pendingWriteBytes = 0
    /// Who writes through this connection. Anonymous until authentication sets it.
    var caller = CommandCaller.anonymous

    init(id: Int, output: ChannelHandlerContext, subscriptions: SubscriptionSet, socket: DirectSocket? = nil) {
        self.id = id
        self.output = output
        self.subscriptions = subscriptions
        self.socket = socket
    }

    /// Whether sends may go straight to the socket (see `DirectSocket`).
    var sendsDirectly: Bool { socket != nil }

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

    /// The one write path of every byte sent to a client: one frame (or several joined), one
    /// syscall. Callers have checked the slow-consumer cap (`PushScheduler.mayQueue`).
    ///
    /// The fast path: with a `DirectSocket` and nothing waiting in NIO, one non-blocking `send`
    /// on the descriptor; what the kernel does not take (a partial write, EAGAIN) goes to NIO,
    /// which queues it, counts it in `bufferedBytes` and writability like any write, and sends it
    /// once the socket drains — and every later send queues behind it until NIO has written it,
    /// so bytes reach the client in the order they were sent.
    ///
    /// What NIO is to hold is copied first when it is a small part of a larger storage (a slice
    /// of the tick's joined frames, or the unsent end of one): a client that does not read would
    /// otherwise keep whole tick buffers alive while `max_pending_bytes` counts only its bytes.
    func send(_ buffer: ByteBuffer) {
        guard var rest = sendDirectly(buffer) else { return }
        if rest.storageCapacity > 2 * rest.readableBytes + 4096 {
            var compact = output.channel.allocator.buffer(capacity: rest.readableBytes)
            compact.writeBuffer(&rest)
            rest = compact
        }
        writeThroughNIO(rest, promise: nil)
    }

    /// The fast path alone: sends what the socket takes now when this connection may send
    /// directly; returns what is left for NIO (all of `buffer` when it may not), nil when the
    /// kernel took everything. Never calls into NIO, so the tick may call it during its fan-out
    /// (where a write that fails and closes the channel would change the index it walks); the
    /// rest must then be given to `send` before anything else is sent to this connection.
    func sendDirectly(_ buffer: ByteBuffer) -> ByteBuffer? {
        // `isActive` turns false before NIO runs any handler after closing the descriptor, so a
        // number the kernel may already have given to another socket is never written to.
        guard let socket, queuedInNIO == 0, output.channel.isActive else { return buffer }
        switch socket.send(buffer) {
        case .sent(let count):
            if count == buffer.readableBytes { return nil }
            var rest = buffer
            rest.moveReaderIndex(forwardBy: count)
            return rest
        case .wouldBlock, .failed:
            return buffer
        }
    }

    /// Hands `buffer` to NIO (written and flushed), counted in `queuedInNIO` until NIO is done
    /// with it when this connection sends directly.
    private func writeThroughNIO(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard socket != nil else { return output.writeAndFlush(NIOAny(buffer), promise: promise) }
        queuedInNIO += 1
        let written = promise ?? output.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { [self] _ in queuedInNIO -= 1 }
        output.writeAndFlush(NIOAny(buffer), promise: written)
    }

    /// The connection left its scheduler (its channel is inactive): the descriptor may be reused.
    func detachSocket() { socket = nil }

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
        socket = nil
        let channel = self.channel
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        let frame = ServerFrame.close(code, reason: reason, allocator: allocator)
        let written = output.eventLoop.makePromise(of: Void.self)
        writeThroughNIO(frame, promise: written)
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
