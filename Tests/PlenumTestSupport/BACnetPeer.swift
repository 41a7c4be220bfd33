import Foundation
import Glibc
import PlenumCore

/// The simulated BACnet/IP device of `Tests/Peers/bacnet_peer.py` (bacpypes3), on 127.0.0.1 at
/// a free UDP port; SIGKILLed by `kill()` or `deinit`.
///
/// A bacpypes3 device treats any 127.x address on its own port as itself, so the peer always
/// gets a port of its own, different from the client's.
public final class BACnetPeer: @unchecked Sendable {
    // Safe: `process` is thread-safe for what is used here (its output is lock-guarded).
    private let process: RunningProcess
    public let port: UInt16
    public let instance: UInt32

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts the peer and waits (bounded) until it serves.
    public init(instance: UInt32 = 4242, port: UInt16? = nil, period: Double = 1) throws {
        let chosen = try port ?? Self.freeUDPPort()
        guard Self.isFree(chosen) else {
            throw Failure(description: "UDP port \(chosen) is taken: a second peer there would start silently")
        }
        self.port = chosen
        self.instance = instance
        process = try RunningProcess(
            PythonClient.python,
            [
                PythonClient.repositoryRoot + "/Tests/Peers/bacnet_peer.py", "--name", "peer-\(instance)",
                "--instance", String(instance), "--address", "127.0.0.1/8:\(chosen)", "--period", String(period),
            ]
        )
        // "ready" comes before bacpypes3 has bound its sockets: also wait for an I-Am.
        guard process.waitFor(#""event": "ready""#, timeout: 30) != nil, Self.answersWhoIs(port: chosen) else {
            let output = process.text
            process.kill()
            throw Failure(description: "the bacpypes3 peer did not start:\n\(output)")
        }
    }

    /// Sends a directed Who-Is every 200 ms (bounded: 15 s) until something answers.
    private static func answersWhoIs(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let whoIs: [UInt8] = [0x81, 0x0A, 0x00, 0x08, 0x01, 0x00, 0x10, 0x08]
        var buffer = [UInt8](repeating: 0, count: 1_600)
        for _ in 0..<75 {
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, whoIs, whoIs.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if recv(fd, &buffer, buffer.count, 0) > 0 { return true }
        }
        return false
    }

    deinit { process.kill() }

    public func kill() { process.kill() }

    /// `127.0.0.1:PORT`.
    public var address: String { "127.0.0.1:\(port)" }
    /// Where a Who-Is to this peer's port is broadcast on loopback.
    public var broadcast: String { "127.255.255.255:\(port)" }

    /// Every priority-array report of analog-value:1 so far: 16 slots, nil when empty.
    public var priorityArrays: [[Double?]] {
        process.text.split(separator: "\n").compactMap { line -> [Double?]? in
            guard line.contains(#""event": "priority-array""#),
                case .object(let event)? = try? JSONParser.parse(String(line)),
                case .array(let slots)? = event["value"]
            else { return nil }
            return slots.map { slot in
                switch slot {
                case .double(let d): d
                case .integer(let i): Double(i)
                default: nil
                }
            }
        }
    }

    /// Waits (bounded) until analog-value:1's priority array satisfies `condition`.
    public func waitForPriorityArray(timeout: Double = 10, _ condition: ([Double?]) -> Bool) -> [Double?]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let last = priorityArrays.last, condition(last) { return last }
            usleep(20_000)
        }
        return nil
    }

    public var output: String { process.text }

    /// A UDP port the kernel just gave out on 127.0.0.1.
    public static func freeUDPPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "no free UDP port") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// True when nothing is bound to `port` on 127.0.0.1.
    public static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
