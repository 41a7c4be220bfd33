import Glibc

/// One client WebSocket on a plain non-blocking socket: the handshake, then server frames parsed
/// straight from the received bytes. The load generator reads thousands of these with a few
/// epoll threads, so that receiving a message costs little more than its `recv` (an NIO
/// pipeline per connection cost it ~10 µs of the cores it shares with the hub).
///
/// `@unchecked Sendable`: created on the main thread, then handed to one receiver thread, which
/// alone touches it (under its lock).
final class RawConnection: @unchecked Sendable {
    enum Event {
        case upgraded
        /// A complete text message's payload, valid until the next call.
        case text(UnsafeRawBufferPointer)
        /// A ping from the hub (its keep-alive); the payload is valid until the next call.
        case ping(UnsafeRawBufferPointer)
        /// The hub's close frame (its code, 1005 for none), or the connection ended or broke
        /// (`code` nil): `reason` is nil for a normal end (1000, 1001, or EOF without a frame).
        case closed(String?, code: Int? = nil)
    }

    let fd: Int32
    private var upgraded = false
    /// Received bytes not yet parsed: a partial response head or frame.
    private var pending: [UInt8] = []
    /// A fragmented text message being reassembled.
    private var fragments: [UInt8]?
    /// Last version seen per channel (keyed by a hash of the channel path), for gap counting.
    var lastVersion: [Int: UInt64] = [:]

    /// Connects (blocking; loopback answers at once) and sends the upgrade request for `path`.
    init(host: String, port: Int, path: String, token: String? = nil) throws(LoadError) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoadError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw LoadError("\(host) is not an IPv4 address")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw LoadError("connect: \(reason)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let request = Array(
            ("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "")
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8
        )
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            close(fd)
            throw LoadError("could not send the upgrade request")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Reads what the socket has into `scratch` and reports each complete event. Returns false once
    /// the connection is over (closed by the peer or broken); the caller then closes `fd`.
    func readAvailable(into scratch: UnsafeMutableRawBufferPointer, _ report: (Event) -> Void) -> Bool {
        while true {
            let count = recv(fd, scratch.baseAddress, scratch.count, 0)
            if count == 0 {
                report(.closed(nil))
                return false
            }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { return true }
                report(.closed("recv: \(String(cString: strerror(errno)))"))
                return false
            }
            let received = UnsafeRawBufferPointer(rebasing: scratch[..<count])
            let open: Bool
            if pending.isEmpty {
                let used = parse(received, report)
                open = used.open
                if used.consumed < count { pending.append(contentsOf: received[used.consumed...]) }
            } else {
                pending.append(contentsOf: received)
                let buffered = pending
                let used = buffered.withUnsafeBytes { parse($0, report) }
                open = used.open
                pending.removeFirst(used.consumed)
            }
            guard open else { return false }
            if count < scratch.count { return true }
        }
    }

    /// Parses as many complete units (the response head, then frames) as `bytes` holds.
    private func parse(
        _ bytes: UnsafeRawBufferPointer,
        _ report: (Event) -> Void
    ) -> (consumed: Int, open: Bool) {
        var offset = 0
        if !upgraded {
            guard let end = Self.headEnd(bytes) else { return (0, true) }
            guard bytes.starts(with: Self.switching) else {
                let line = String(decoding: bytes[..<min(end, 80)], as: UTF8.self)
                report(.closed("upgrade refused: \(line.split(separator: "\r").first ?? "")"))
                return (end, false)
            }
            upgraded = true
            offset = end
            report(.upgraded)
        }
        while bytes.count - offset >= 2 {
            let first = bytes[offset]
            var length = Int(bytes[offset + 1] & 0x7F)
            var header = 2
            if length == 126 {
                guard bytes.count - offset >= 4 else { break }
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127 {
                guard bytes.count - offset >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[offset + 2 + $1]) }
                header = 10
            }
            guard bytes.count - offset - header >= length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            offset += header + length
            let fin = first & 0x80 != 0
            switch first & 0x0F {
            case 0x1 where fin && fragments == nil:
                report(.text(payload))
            case 0x1, 0x0:
                fragments = (fragments ?? []) + payload
                if fin, let message = fragments {
                    fragments = nil
                    message.withUnsafeBytes { report(.text($0)) }
                }
            case 0x8:
                let code = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                report(.closed(code == 1000 || code == 1001 ? nil : "closed by the hub with \(code)", code: code))
                return (offset, false)
            case 0x9:
                report(.ping(payload))
            default:
                break
            }
        }
        return (offset, true)
    }

    /// Sends one masked client frame (RFC 6455 §5.3) in a single `send`; false when the socket
    /// did not take it whole (the hub stopped reading, or the connection broke).
    func sendFrame(opcode: UInt8, _ payload: [UInt8]) -> Bool {
        var frame: [UInt8] = [0x80 | opcode]
        frame.reserveCapacity(payload.count + 14)
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        let key = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += key
        for (index, byte) in payload.enumerated() { frame.append(byte ^ key[index & 3]) }
        return frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == frame.count
    }

    private static let switching = Array("HTTP/1.1 101".utf8)

    /// The index just past the response head's blank line, if it has arrived.
    private static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count
        where bytes[i] == 0x0A && bytes[i - 1] == 0x0D && bytes[i - 2] == 0x0A && bytes[i - 3] == 0x0D {
            return i + 1
        }
        return nil
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
