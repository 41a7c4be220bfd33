import Foundation
import PlenumCore

/// The simulated Modbus device of `Tests/Peers/modbus_peer.py` (pymodbus), run as a child
/// process: over TCP on a free loopback port, or RTU on a serial device (a socat pty).
public final class ModbusPeer: @unchecked Sendable {
    // Safe: `process` is replaced only by `restart()`, called from the test's own thread.
    /// One register vector the peer serves: `type` in `order` at `address`, holding `value`.
    public struct Vector: Sendable {
        public var type: String
        public var order: String
        public var address: Int
        public var registers: [Int]
        public var value: JSONValue
    }

    public let arguments: [String]
    public private(set) var vectors: [Vector] = []
    private var process: RunningProcess

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// A peer serving Modbus TCP on `port` (a free one when nil); with `logReads`, it reports
    /// every read request it answers (see `reads`).
    public static func tcp(port: Int? = nil, unit: Int = 1, logReads: Bool = false) throws -> ModbusPeer {
        let chosen = try port ?? freeLoopbackPort()
        return try ModbusPeer(["tcp", String(chosen), "--unit", String(unit)] + (logReads ? ["--log-reads"] : []))
    }

    /// No Modbus device: a listener on a free port that accepts each connection and closes it at
    /// once, counting them (see `connections`) — an unreachable device, attempt by attempt.
    public static func hangUp() throws -> ModbusPeer {
        try ModbusPeer(["hangup", String(try freeLoopbackPort())])
    }

    /// A peer serving Modbus RTU on the serial device `path`.
    public static func rtu(path: String, baud: Int = 9_600, unit: Int = 1) throws -> ModbusPeer {
        try ModbusPeer(["rtu", path, "--baud", String(baud), "--unit", String(unit)])
    }

    private init(_ arguments: [String]) throws {
        self.arguments = arguments
        process = try Self.start(arguments)
        vectors = try Self.waitReady(process)
    }

    deinit { process.kill() }

    /// The TCP port (TCP peers only).
    public var port: Int { Int(arguments[1]) ?? 0 }

    /// SIGKILL: the device vanishes mid-run.
    public func kill() { process.kill() }

    /// Starts the peer again with the same arguments (the same port).
    public func restart() throws {
        process.kill()
        let deadline = Date().addingTimeInterval(10)
        while true {
            process = try Self.start(arguments)
            do {
                vectors = try Self.waitReady(process)
                return
            } catch {
                // The port may still be held by the killed process's socket for a moment.
                if Date() > deadline { throw error }
                usleep(200_000)
            }
        }
    }

    /// Every write the peer received so far: `(function, address, values)`.
    public var writes: [(function: Int, address: Int, values: [JSONValue])] {
        process.text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{\"write\""), let json = try? JSONParser.parse(String(line)),
                let write = json["write"], let function = write["function"]?.numberValue,
                let address = write["address"]?.numberValue, case .array(let values)? = write["values"]
            else { return nil }
            return (Int(function), Int(address), values)
        }
    }

    /// Every read request the peer answered so far, in order (peers started with `logReads`).
    public var reads: [(function: Int, address: Int, count: Int)] {
        process.text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{\"read\""), let json = try? JSONParser.parse(String(line)),
                let read = json["read"], let function = read["function"]?.numberValue,
                let address = read["address"]?.numberValue, let count = read["count"]?.numberValue
            else { return nil }
            return (Int(function), Int(address), Int(count))
        }
    }

    /// How many connections a `hangUp()` listener accepted (and closed) so far.
    public var connections: Int {
        process.text.split(separator: "\n").filter { $0.hasPrefix("{\"connection\"") }.count
    }

    /// Waits (bounded) until the peer has received a write matching `predicate`.
    public func waitForWrite(
        timeout: Double = 5,
        _ predicate: ((function: Int, address: Int, values: [JSONValue])) -> Bool
    ) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if writes.contains(where: predicate) { return true }
            usleep(20_000)
        }
        return false
    }

    public var output: String { process.text }

    private static func start(_ arguments: [String]) throws -> RunningProcess {
        let script = PythonClient.repositoryRoot + "/Tests/Peers/modbus_peer.py"
        return try RunningProcess(PythonClient.python, [script] + arguments)
    }

    private static func waitReady(_ process: RunningProcess) throws -> [Vector] {
        guard let line = process.waitFor(#"(\{"ready": true[^\n]*)\n"#, timeout: 20) else {
            process.kill()
            throw Failure(description: "the Modbus peer did not start:\n\(process.text)")
        }
        guard case .array(let items)? = try JSONParser.parse(line)["vectors"] else {
            throw Failure(description: "the Modbus peer printed no vectors: \(line)")
        }
        return items.compactMap { item in
            guard let type = item["type"]?.stringValue, let order = item["order"]?.stringValue,
                let address = item["address"]?.numberValue, case .array(let registers)? = item["registers"],
                let value = item["value"]
            else { return nil }
            return Vector(
                type: type,
                order: order,
                address: Int(address),
                registers: registers.compactMap { $0.numberValue.map { Int($0) } },
                value: value
            )
        }
    }
}

/// A TCP port on 127.0.0.1 that the kernel says is free now (bound to port 0, then released).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ModbusPeer.Failure(description: "socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, size) == 0 && getsockname(fd, pointer, &size) == 0
        }
    }
    guard bound else { throw ModbusPeer.Failure(description: "bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A socat-linked pair of pseudo-terminals: what one end writes, the other reads — a serial
/// cable for the RTU tests. socat is started here and stopped with SIGKILL.
public final class SerialLink: @unchecked Sendable {
    // Safe: used from the test's thread only.
    public let hubSide: String
    public let deviceSide: String
    private let process: RunningProcess
    private let directory: String

    public init() throws {
        directory = NSTemporaryDirectory() + "plenum-rtu-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        hubSide = directory + "/hub"
        deviceSide = directory + "/device"
        process = try RunningProcess(
            "/usr/bin/socat",
            ["-d", "-d", "pty,raw,echo=0,link=\(hubSide)", "pty,raw,echo=0,link=\(deviceSide)"]
        )
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: hubSide), FileManager.default.fileExists(atPath: deviceSide) {
                return
            }
            usleep(20_000)
        }
        process.kill()
        throw ModbusPeer.Failure(description: "socat made no pty pair:\n\(process.text)")
    }

    deinit {
        process.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A TCP listener that accepts connections (in the kernel's backlog) and never answers.
public final class SilentListener {
    public let fd: Int32
    public let port: Int

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, size) == 0 && listen(fd, 8) == 0 && getsockname(fd, pointer, &size) == 0
            }
        }
        guard ok else { throw ModbusPeer.Failure(description: "silent listener: errno \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
