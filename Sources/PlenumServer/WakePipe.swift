import Glibc
import NIOCore
import NIOPosix
import PlenumCore
import Synchronization

/// Wakes one event loop from a publishing thread (`tick_ms: 0`) through a pipe that the loop
/// polls like its sockets.
///
/// Not `EventLoop.execute`: NIO runs queued tasks until none is left before it polls its sockets
/// again, so fan-out passes queued by producers that outpace them would run back to back and
/// starve accepts, handshakes and client messages (connecting 1,000 clients took 17 s at 1 kHz).
/// A readable pipe is handled with the loop's other I/O, at most one pass per poll, and the loop
/// never sleeps while a wake is pending.
final class WakePipe: Sendable {
    private let writeEnd: Mutex<Int32?>
    private let channel: Channel

    private init(writeEnd: Int32, channel: Channel) {
        self.writeEnd = Mutex(writeEnd)
        self.channel = channel
    }

    /// Opens the pipe; `onWake` runs on `loop` after each batch of wakes.
    static func open(on loop: EventLoop, onWake: @escaping @Sendable () -> Void) async throws -> WakePipe {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SystemError("pipe") }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        do {
            let channel = try await NIOPipeBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(WakeHandler(onWake: onWake))
                    }
                }
                .takingOwnershipOfDescriptor(input: ends[0]).get()
            return WakePipe(writeEnd: ends[1], channel: channel)
        } catch {
            Glibc.close(ends[0])
            Glibc.close(ends[1])
            throw error
        }
    }

    /// Called from any thread. A full pipe means a wake is already pending, which is enough.
    func wake() {
        writeEnd.withLock { fd in
            guard let fd else { return }
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
        }
    }

    func close() {
        writeEnd.withLock { fd in
            if let open = fd { Glibc.close(open) }
            fd = nil
        }
        channel.close(promise: nil)
    }
}

private final class WakeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let onWake: @Sendable () -> Void

    init(onWake: @escaping @Sendable () -> Void) { self.onWake = onWake }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelReadComplete(context: ChannelHandlerContext) { onWake() }
}
