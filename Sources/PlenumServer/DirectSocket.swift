import Glibc
import NIOCore

/// A plaintext connection's TCP socket, for the push fast path: one non-blocking `send` of a
/// tick's batch, straight into the kernel, instead of NIO's write path (pipeline, pending-writes
/// queue, `writev`) — what the kernel charges is the same, NIO's own work per write is gone.
///
/// The seam of the fast path (`PushConnection.send`): a connection has one only when nothing sits
/// between its raw write tap and the socket. Under TLS (`NIOSSLServerHandler` below the tap), in a
/// harness (`PushLoop` on an `EmbeddedChannel`) or when the descriptor cannot be found and
/// verified, there is none and every byte goes through NIO as before.
///
/// NIO does not publish a socket channel's descriptor, so `find(for:)` reads it by reflection
/// (`BaseSocketChannel.socket`, `BaseSocket.descriptor`) and trusts it only after the kernel
/// confirms it: a stream socket whose local and peer addresses are the channel's. A NIO release
/// that renames those fields makes `find` return nil — slower, never wrong — and
/// `DirectSocketTests` fails so that it is noticed.
///
/// Loop-confined like its connection. The descriptor stays valid while the connection is in
/// its scheduler: NIO closes it on the same loop and then fires `channelInactive`, which removes
/// the connection (`PushScheduler.remove`) and drops this value; a closing connection (close
/// frame queued, output maybe shut) no longer sends directly.
struct DirectSocket {
    let descriptor: Int32

    /// What one `send` did.
    enum Outcome: Equatable {
        /// The kernel took this many bytes (all, or the first part of a partial write).
        case sent(Int)
        /// Nothing: the socket's send buffer is full (EAGAIN) or the call was interrupted.
        case wouldBlock
        /// The socket failed (reset, broken pipe…): NIO's write path finds the same error and
        /// closes the channel the usual way.
        case failed
    }

    /// Sends as much of `buffer`'s readable bytes as the kernel takes now, without blocking and
    /// without SIGPIPE.
    func send(_ buffer: ByteBuffer) -> Outcome {
        let result = buffer.withUnsafeReadableBytes { bytes in
            Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
        if result >= 0 { return .sent(result) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR, ENOBUFS: return .wouldBlock
        default: return .failed
        }
    }

    /// The socket under `channel`, verified; nil when there is none to trust (see the type's
    /// comment). Called once per upgraded connection, on its loop.
    static func find(for channel: Channel) -> DirectSocket? {
        guard let socket = field("socket", of: channel), let descriptor = field("descriptor", of: socket) as? Int32,
            descriptor >= 0,
            let local = channel.localAddress, let remote = channel.remoteAddress,
            isStreamSocket(descriptor),
            address(of: descriptor, peer: false) == Endpoint(local),
            address(of: descriptor, peer: true) == Endpoint(remote)
        else { return nil }
        return DirectSocket(descriptor: descriptor)
    }

    /// A stored property of `subject` or of one of its superclasses, by name.
    private static func field(_ name: String, of subject: Any) -> Any? {
        var mirror: Mirror? = Mirror(reflecting: subject)
        while let current = mirror {
            if let child = current.children.first(where: { $0.label == name }) { return child.value }
            mirror = current.superclassMirror
        }
        return nil
    }

    private static func isStreamSocket(_ descriptor: Int32) -> Bool {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else { return false }
        return type == Int32(SOCK_STREAM.rawValue)
    }

    /// An IP endpoint as both NIO and the kernel can state it.
    struct Endpoint: Equatable {
        let ip: String
        let port: Int

        init(ip: String, port: Int) {
            self.ip = ip
            self.port = port
        }

        init?(_ address: SocketAddress) {
            guard let ip = address.ipAddress, let port = address.port else { return nil }
            self.init(ip: ip, port: port)
        }
    }

    private static func address(of descriptor: Int32, peer: Bool) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                peer ? getpeername(descriptor, address, &length) : getsockname(descriptor, address, &length)
            }
        }
        guard status == 0 else { return nil }
        return withUnsafePointer(to: &storage) { pointer -> Endpoint? in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    let port = Int(UInt16(bigEndian: address.pointee.sin_port))
                    return withUnsafeBytes(of: address.pointee.sin_addr) { text(AF_INET, $0) }
                        .map { Endpoint(ip: $0, port: port) }
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    let port = Int(UInt16(bigEndian: address.pointee.sin6_port))
                    return withUnsafeBytes(of: address.pointee.sin6_addr) { text(AF_INET6, $0) }
                        .map { Endpoint(ip: $0, port: port) }
                }
            default:
                return nil
            }
        }
    }

    private static func text(_ family: Int32, _ address: UnsafeRawBufferPointer) -> String? {
        var characters = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, address.baseAddress, &characters, socklen_t(characters.count)) != nil else {
            return nil
        }
        return characters.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
