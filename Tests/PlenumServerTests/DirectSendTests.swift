import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
import Testing

@testable import PlenumServer

/// The push fast path (`DirectSocket`, `PushConnection.send`) on real loopback sockets: a NIO
/// server channel with the raw write tap at its head, and a plain client socket with a small
/// receive buffer that reads only when the test says so. What the client finally reads must be
/// every byte, in the order the connection was given them — across partial writes, EAGAIN and
/// the remainders NIO queues.
@Suite(.serialized) struct DirectSendTests {
    /// One accepted connection: the server side's `PushConnection` (loop-bound) and the client's
    /// descriptor.
    final class Pair: Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server: Channel
        let child: Channel
        let client: Int32
        let connection: NIOLoopBoundBox<PushConnection>

        init(direct: Bool = true) async throws {
            let accepted = Mutex<Channel?>(nil)
            server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RawWriteTap())
                        accepted.withLock { $0 = channel }
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            client = try Self.connect(port: server.localAddress?.port ?? 0)
            var child: Channel?
            for _ in 0..<500 where child == nil {
                child = accepted.withLock { $0 }
                if child == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            guard let child else { throw SocketFailure(what: "no connection accepted") }
            self.child = child
            connection = try await child.eventLoop.submit {
                let output = try child.pipeline.syncOperations.context(handlerType: RawWriteTap.self)
                let connection = PushConnection(
                    id: 1,
                    output: output,
                    subscriptions: SubscriptionSet(limit: 10),
                    socket: direct ? DirectSocket.find(for: child) : nil
                )
                return NIOLoopBoundBox.makeBoxSendingValue(connection, eventLoop: child.eventLoop)
            }.get()
        }

        /// A client socket whose receive buffer is small (set before connecting, so the window
        /// stays small): the server's sends stop being taken after a few hundred KiB at most.
        static func connect(port: Int) throws -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw SocketFailure(what: "socket") }
            var size: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard status == 0 else { throw SocketFailure(what: "connect") }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return fd
        }

        /// Runs `body` with the connection on its loop.
        func onLoop<T: Sendable>(_ body: @escaping @Sendable (PushConnection) throws -> T) async throws -> T {
            let connection = self.connection
            return try await child.eventLoop.submit { try body(connection.value) }.get()
        }

        /// Reads exactly `count` bytes (or until EOF or the 10 s receive timeout).
        func read(_ count: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while bytes.count < count {
                let n = recv(client, &chunk, min(chunk.count, count - bytes.count), 0)
                guard n > 0 else { break }
                bytes.append(contentsOf: chunk[0..<n])
            }
            return bytes
        }

        /// Reads until EOF (or the receive timeout).
        func readToEnd() -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = recv(client, &chunk, chunk.count, 0)
                guard n > 0 else { return bytes }
                bytes.append(contentsOf: chunk[0..<n])
            }
        }

        func close() async {
            Glibc.close(client)
            try? await child.close()
            try? await server.close()
            try? await group.shutdownGracefully()
        }
    }

    struct SocketFailure: Error {
        let what: String
    }

    /// `count` bytes that say where they are (a byte pattern that differs for each `seed`), so
    /// a reordering or a lost or repeated stretch does not compare equal.
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) ^ seed }
    }

    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    // The batches below are 8 MiB: more than a socket's send buffer can grow to (Linux's
    // tcp_wmem maximum is 4 MiB by default), so the first send is partial whatever the kernel
    // tuned it to.

    @Test func aPlainSocketChannelsDescriptorIsFoundAndVerified() async throws {
        let pair = try await Pair()
        let direct = try await pair.onLoop { $0.sendsDirectly }
        #expect(direct, "DirectSocket.find no longer finds NIO's descriptor: the fast path is off")
        await pair.close()
    }

    @Test func aChannelWithoutASocketHasNoDirectPath() {
        #expect(DirectSocket.find(for: EmbeddedChannel()) == nil)
    }

    /// A batch larger than the socket takes: the kernel takes the first part, NIO queues the
    /// rest; what is sent meanwhile queues behind it; once NIO has written everything, sends go
    /// direct again. The client reads every byte in order.
    @Test func aPartialWriteQueuesTheRestAndWhatFollowsBehindIt() async throws {
        let pair = try await Pair()
        let big = Self.pattern(8 << 20, seed: 1)
        let small = Self.pattern(1_000, seed: 2)
        let queued = try await pair.onLoop { connection -> [Int] in
            connection.send(Self.buffer(big))
            let afterBig = connection.queuedInNIO
            connection.send(Self.buffer(small))
            return [afterBig, connection.queuedInNIO]
        }
        #expect(queued == [1, 2])
        let read = pair.read(big.count + small.count)
        #expect(read.count == big.count + small.count)
        #expect(read == big + small)
        // NIO has written both; the next send goes straight to the socket.
        var drained = false
        for _ in 0..<500 where !drained {
            drained = try await pair.onLoop { $0.queuedInNIO == 0 }
            if !drained { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(drained)
        let last = Self.pattern(10_000, seed: 3)
        let afterLast = try await pair.onLoop { connection -> Int in
            connection.send(Self.buffer(last))
            return connection.queuedInNIO
        }
        #expect(afterLast == 0)
        #expect(pair.read(last.count) == last)
        await pair.close()
    }

    /// A socket whose send buffer is full (EAGAIN): the whole batch goes to NIO, and so does
    /// everything after it until NIO has written it.
    @Test func eagainHandsTheWholeBatchToNIO() async throws {
        let pair = try await Pair()
        let filled = try await pair.onLoop { connection -> (bytes: [UInt8], wouldBlock: Bool, queued: [Int]) in
            guard let socket = DirectSocket.find(for: connection.channel) else { return ([], false, []) }
            var written: [UInt8] = []
            var seed: UInt8 = 10
            var full = false
            while !full && written.count < 64 << 20 {
                let chunk = Self.pattern(65_536, seed: seed)
                seed &+= 1
                switch socket.send(Self.buffer(chunk)) {
                case .sent(let count): written += chunk[0..<count]
                case .wouldBlock: full = true
                case .failed: return (written, false, [])
                }
            }
            let wouldBlock = socket.send(Self.buffer([1, 2, 3])) == .wouldBlock
            connection.send(Self.buffer(Self.pattern(5_000, seed: 100)))
            let afterFirst = connection.queuedInNIO
            connection.send(Self.buffer(Self.pattern(5_000, seed: 101)))
            return (written, wouldBlock, [afterFirst, connection.queuedInNIO])
        }
        #expect(filled.wouldBlock)
        #expect(filled.queued == [1, 2])
        let expected = filled.bytes + Self.pattern(5_000, seed: 100) + Self.pattern(5_000, seed: 101)
        let read = pair.read(expected.count)
        #expect(read.count == expected.count)
        #expect(read == expected)
        await pair.close()
    }

    /// A client that stops reading in the middle of a batch, then a close frame: the close frame
    /// comes after every byte queued before it, then the hub's side ends (FIN).
    @Test func aCloseFrameFollowsEverythingQueuedBeforeIt() async throws {
        let pair = try await Pair()
        let big = Self.pattern(8 << 20, seed: 7)
        let queued = try await pair.onLoop { connection -> Int in
            connection.send(Self.buffer(big))
            connection.close(.goingAway, reason: "bye", allocator: ByteBufferAllocator())
            return connection.queuedInNIO
        }
        // The batch's rest waits in NIO; the close frame goes to NIO behind it (no longer counted:
        // a closing connection sends nothing directly).
        #expect(queued == 1)
        let read = pair.readToEnd()
        var closeFrame = ServerFrame.close(ServerFrame.CloseCode.goingAway.rawValue, reason: "bye", allocator: .init())
        let expected = big + (closeFrame.readBytes(length: closeFrame.readableBytes) ?? [])
        #expect(read.count == expected.count)
        #expect(read == expected)
        await pair.close()
    }

    /// With direct sends off (or under TLS), every byte goes through NIO, nothing is counted.
    @Test func withoutADirectSocketEverythingGoesThroughNIO() async throws {
        let pair = try await Pair(direct: false)
        let big = Self.pattern(1 << 20, seed: 9)
        let state = try await pair.onLoop { connection -> [Int] in
            connection.send(Self.buffer(big))
            return [connection.sendsDirectly ? 1 : 0, connection.queuedInNIO]
        }
        #expect(state == [0, 0])
        #expect(pair.read(big.count) == big)
        await pair.close()
    }
}
