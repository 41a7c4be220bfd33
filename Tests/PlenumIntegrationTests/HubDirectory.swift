import Foundation
import PlenumCore
import PlenumTestSupport

/// A throw-away directory holding a `hub.yaml` and `plugins/`, with `plenum run --port 0`
/// started in it: edit its scripts while the hub runs, read channels over HTTP.
final class HubDirectory {
    let path: String
    private(set) var hub: RunningProcess?
    private(set) var port = 0

    /// `scripts`: plugin file name → source (or the name of a file in `Fixtures/devices`).
    init(yaml: String, scripts: [String: String] = [:], fixtures: [String] = []) throws {
        path = NSTemporaryDirectory() + "plenum-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path + "/plugins", withIntermediateDirectories: true)
        try yaml.write(toFile: path + "/hub.yaml", atomically: true, encoding: .utf8)
        for (name, source) in scripts { try write(name, source) }
        for name in fixtures {
            try FileManager.default.copyItem(
                atPath: PlenumBinary.fixtures + "/devices/" + name,
                toPath: path + "/plugins/" + name
            )
        }
    }

    deinit {
        hub?.kill()
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Starts the hub; returns its port (nil if it did not start).
    func start() throws -> Int? {
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--port", "0"], in: path)
        self.hub = hub
        port = hub.waitForPort() ?? 0
        return port == 0 ? nil : port
    }

    /// Replaces a script as editors do: a new file renamed over the old one.
    func write(_ name: String, _ source: String) throws {
        try source.write(toFile: path + "/plugins/" + name, atomically: true, encoding: .utf8)
    }

    /// Overwrites a script in place (same inode), as `cat > file` does.
    func overwrite(_ name: String, _ source: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/plugins/" + name))
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(source.utf8))
    }

    /// `GET /api/channels/<path>`'s value, or nil.
    func value(_ channel: String) -> JSONValue? {
        guard let body = HTTP.get(port: port, "/api/channels" + channel)?.body else { return nil }
        return (try? JSONParser.parse(body))?["value"]
    }

    func status(_ device: String) -> JSONValue? { value("/plenum/devices/\(device)/status") }

    /// Polls `condition` (bounded) without holding a thread of the concurrency pool.
    func eventually(timeout: Double = 20, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}

/// A plain HTTP/1.1 GET over a socket, for endpoints whose body is not JSON (`/metrics`).
enum HTTP {
    static func get(port: Int, _ path: String, timeout: Int = 5) -> (status: Int, body: String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n"),
            let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "")
        else { return nil }
        var body = String(text[headerEnd.upperBound...])
        if text[..<headerEnd.lowerBound].lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
        return (status, body)
    }

    private static func dechunk(_ body: String) -> String {
        var rest = Substring(body)
        var out = ""
        while let line = rest.range(of: "\r\n"), let size = Int(rest[..<line.lowerBound], radix: 16), size > 0 {
            let start = line.upperBound
            let end = rest.utf8.index(start, offsetBy: size)
            out += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
