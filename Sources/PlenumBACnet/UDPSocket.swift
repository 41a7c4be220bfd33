import Glibc
import PlenumCore

/// A non-blocking IPv4 UDP socket, waited on together with a `BACnetInterrupt`. Owned by one
/// thread (the client's); closed by `close()` or `deinit`.
final class UDPSocket {
    private var descriptor: Int32
    let localPort: UInt16

    /// Binds `host:port` (port 0: any free port), with broadcast allowed. No `SO_REUSEADDR`:
    /// with it Linux lets a second UDP socket bind the same port silently and splits the
    /// datagrams between them; a port in use must be an error.
    init(host: UInt32, port: UInt16, receiveBuffer: Int32 = 1 << 20) throws(BACnetError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BACnetError(.socket, SystemError("socket").description) }
        var on: Int32 = 1
        var size = receiveBuffer
        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.socketAddress(host: host, port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let error = SystemError("bind \(BACnetIPAddress(host: host, port: port))")
            Glibc.close(fd)
            throw BACnetError(.socket, error.description)
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        localPort = UInt16(bigEndian: local.sin_port)
    }

    deinit { close() }

    var isOpen: Bool { descriptor >= 0 }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    static func socketAddress(host: UInt32, port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = host.bigEndian
        return address
    }

    func send(_ bytes: [UInt8], to destination: BACnetIPAddress) throws(BACnetError) {
        guard descriptor >= 0 else { throw BACnetError(.interrupted, "the BACnet client is closed") }
        var address = Self.socketAddress(host: destination.host, port: destination.port)
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(
                        descriptor,
                        buffer.baseAddress,
                        buffer.count,
                        0,
                        $0,
                        socklen_t(MemoryLayout<sockaddr_in>.size)
                    )
                }
            }
        }
        guard sent == bytes.count else { throw BACnetError(.socket, SystemError("send to \(destination)").description) }
    }

    /// Waits for one datagram until `deadline`, in slices of at most 100 ms so `stopping` is
    /// asked at least that often. Nil on timeout; throws `.interrupted` on an interrupt or stop.
    func receive(
        into buffer: inout [UInt8],
        until deadline: Deadline,
        interrupt: BACnetInterrupt,
        stopping: () -> Bool
    ) throws(BACnetError) -> (count: Int, from: BACnetIPAddress)? {
        guard descriptor >= 0 else { throw BACnetError(.interrupted, "the BACnet client is closed") }
        while true {
            if interrupt.isInterrupted || stopping() { throw BACnetError(.interrupted, "the device is stopping") }
            var fds = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: interrupt.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, deadline.remainingMilliseconds(cappedAt: 100))
            if ready < 0 {
                if errno == EINTR { continue }
                throw BACnetError(.socket, SystemError("poll").description)
            }
            if fds[1].revents != 0 { throw BACnetError(.interrupted, "the device is stopping") }
            if fds[0].revents & Int16(POLLIN) != 0 {
                var from = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &length)
                        }
                    }
                }
                if count < 0 {
                    if errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED { continue }
                    throw BACnetError(.socket, SystemError("receive").description)
                }
                let source = BACnetIPAddress(
                    host: UInt32(bigEndian: from.sin_addr.s_addr),
                    port: UInt16(bigEndian: from.sin_port)
                )
                return (count, source)
            }
            if deadline.hasPassed { return nil }
        }
    }
}
