import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// Issue 11's network items against the built binary: what an anonymous client on the plant
/// network can do to the hub, and what it must not be able to.
@Suite(.serialized) struct HostileClientTests {
    /// A hub on `server:` settings (port 0) plus the fixtures' `wide` device publishing `channels`
    /// channels of `size` bytes under /wide; `prefix` runs it under another command (prlimit).
    private func startHub(
        server: [String: Int] = [:],
        channels: Int = 20,
        size: Int = 100,
        prefix: [String] = []
    ) throws -> (RunningProcess, Int, String) {
        let directory = NSTemporaryDirectory() + "plenum-hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var yaml = "server:\n  host: 127.0.0.1\n  port: 0\n"
        for (key, value) in server.sorted(by: { $0.key < $1.key }) { yaml += "  \(key): \(value)\n" }
        yaml += """
            devices:
              - name: wide
                script: \(PlenumBinary.fixtures)/plugins/wide.lua
                prefix: /wide
                params: {count: \(channels), size: \(size)}

            """
        try yaml.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let arguments = prefix + [PlenumBinary.path, "run", "--config", directory + "/hub.yaml"]
        let hub = try RunningProcess(arguments[0], Array(arguments.dropFirst()), in: directory)
        guard let port = hub.waitForPort() else {
            hub.kill()
            throw ChildProcessFailure(description: "the hub did not start:\n\(hub.text)")
        }
        #expect(hub.waitFor("hub started") != nil)
        return (hub, port, directory)
    }

    private func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// CPU seconds (user + system) the process has used.
    private func cpuSeconds(_ pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
        let user = Double(fields[11]) ?? 0
        let system = Double(fields[12]) ?? 0
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func markers() -> (String, String) {
        let base = NSTemporaryDirectory() + "plenum-marker-\(UUID().uuidString)"
        return (base + "-ready", base + "-done")
    }

    // MARK: - Start-up

    @Test func aPortInUseStopsTheHubWithStatus1AndTheReason() throws {
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--config", "good.yaml"], in: PlenumBinary.fixtures)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        let second = try PlenumBinary.run(["run", "--config", "good.yaml", "--port", "\(port)"], timeout: 20)
        #expect(!second.timedOut)
        #expect(second.status == 1)
        #expect(second.stderr.contains("Address already in use"))
        #expect(!second.stdout.contains("listening"))
    }

    // MARK: - 16. RFC 6455 handshake

    @Test func handshakesGetTheRFCAnswers() async throws {
        let (hub, port, _) = try startHub()
        defer { hub.kill() }
        let seen = try PythonClient.run("handshakes", port: port)
        #expect(seen["post"]?["status"] == .integer(405))
        #expect(seen["bad_version"]?["status"] == .integer(426))
        #expect(seen["bad_version"]?["headers"]?["Sec-WebSocket-Version"] == .string("13"))
        #expect(seen["short_key"]?["status"] == .integer(400))
        #expect(seen["not_base64_key"]?["status"] == .integer(400))
        #expect(seen["good"]?["status"] == .integer(101))
    }

    // MARK: - 11. slots tied to the connection's lifetime

    @Test func upgradesAbandonedBeforeThe101DoNotLockClientsOut() async throws {
        let (hub, port, _) = try startHub(server: ["max_connections": 50])
        defer { hub.kill() }
        let seen = try await offPool {
            try PythonClient.run("abandoned_upgrades", port: port, ["10000"], timeout: 240)
        }
        #expect(seen["first_message"] == .string("welcome"), "\(seen)")
        #expect(seen["server_connections"]?.numberValue == 1)
        #expect(seen["ws_connections"]?.numberValue == 0)
    }

    // MARK: - 12. HTTP pipelining backpressure

    @Test func pipelinedRequestsFromAClientThatNeverReadsDoNotGrowTheHub() async throws {
        let (hub, port, _) = try startHub()
        defer { hub.kill() }
        let before = residentKiB(hub.pid)
        let (ready, done) = markers()
        async let flood = offPool {
            try PythonClient.run("pipeline_flood", port: port, ["200000", ready, done], timeout: 120)
        }
        #expect(await waitForFile(ready, timeout: 60))
        let during = residentKiB(hub.pid)
        _ = FileManager.default.createFile(atPath: done, contents: nil)
        let seen = try await flood
        try await Task.sleep(for: .milliseconds(500))
        let after = residentKiB(hub.pid)
        let health = try PythonClient.run("get", port: port, ["/healthz"])
        #expect(health["status"] == .integer(200))
        // On main the hub grew by ~836 MiB and kept it.
        #expect(during - before < 48 * 1024, "before \(before) KiB, during \(during) KiB; \(seen)")
        #expect(after - before < 48 * 1024, "before \(before) KiB, after \(after) KiB")
    }

    // MARK: - 13. every queued byte counts toward max_pending_bytes

    @Test(arguments: ["subscribe", "ping"])
    func aClientThatNeverReadsButKeepsAskingIsClosedWith4008(kind: String) async throws {
        let (hub, port, _) = try startHub(server: ["max_pending_bytes": 262_144], channels: 200, size: 200)
        defer { hub.kill() }
        let before = residentKiB(hub.pid)
        let (ready, done) = markers()
        async let flood = offPool {
            try PythonClient.run("flood_without_reading", port: port, [kind, "20", ready, done], timeout: 120)
        }
        #expect(await waitForFile(ready, timeout: 60))
        let during = residentKiB(hub.pid)
        _ = FileManager.default.createFile(atPath: done, contents: nil)
        let seen = try await flood
        #expect(seen["close"] == .integer(4008), "\(seen)")
        // On main: +3.5 GB in 21 s, never closed.
        #expect(during - before < 64 * 1024, "before \(before) KiB, during \(during) KiB; \(seen)")
        let metrics = try PythonClient.run("metrics_traffic_only", port: port)
        #expect(metrics["plenum_ws_slow_consumer_closes_total"]?.numberValue == 1)
    }

    // MARK: - 14. limits before work

    @Test func aSubscribeWithThousandsOfPatternsIsRefusedAtOnce() async throws {
        let (hub, port, _) = try startHub()
        defer { hub.kill() }
        let seen = try PythonClient.run("many_patterns", port: port, ["7200"])
        #expect(seen["first"]?["code"] == .string("too_many_subscriptions"))
        #expect(
            seen["first"]?["message"]
                == .string("7200 channels in one message; at most 1000 are allowed per connection")
        )
        #expect(seen["second"] == .object(["type": .string("pong"), "id": .integer(2)]))
    }

    // MARK: - 15. the fd limit, timeouts, every connection counted

    @Test func atTheFileDescriptorLimitTheHubPausesAcceptsInsteadOfSpinning() async throws {
        let (hub, port, _) = try startHub(prefix: ["/usr/bin/prlimit", "--nofile=64:64", "--"])
        defer { hub.kill() }
        let (ready, done) = markers()
        async let held = offPool {
            try PythonClient.run("hold_connections", port: port, ["120", ready, done], timeout: 120)
        }
        #expect(await waitForFile(ready, timeout: 60))
        #expect(hub.waitFor("accept: Too many open files; pausing accepts") != nil, "\(hub.text)")
        let cpuBefore = cpuSeconds(hub.pid)
        try await Task.sleep(for: .seconds(2))
        let cpuUsed = cpuSeconds(hub.pid) - cpuBefore
        _ = FileManager.default.createFile(atPath: done, contents: nil)
        _ = try await held
        // A spinning accept loop burns ~2 s of CPU in these 2 s.
        #expect(cpuUsed < 0.5, "the hub used \(cpuUsed) s of CPU in 2 s at the fd limit")
        let lines = hub.text.components(separatedBy: "pausing accepts").count - 1
        #expect(lines >= 1 && lines <= 2, "rate-limited log expected, got \(lines) lines")
        var metrics: JSONValue = .null
        for _ in 0..<50 {
            if let m = try? PythonClient.run("metrics_traffic_only", port: port) {
                metrics = m
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect((metrics["plenum_server_accept_errors_total"]?.numberValue ?? 0) >= 1, "\(metrics)")
    }

    @Test func silentHTTPAndWebSocketClientsAreTimedOut() async throws {
        let (hub, port, _) = try startHub(server: [
            "header_timeout_ms": 300, "idle_timeout_ms": 300, "ping_interval_ms": 300,
        ])
        defer { hub.kill() }
        let seen = try PythonClient.run("silent_clients", port: port)
        #expect(seen["half_request_closed"] == .bool(true))
        #expect(seen["idle_answered"] == .bool(true))
        #expect(seen["idle_closed"] == .bool(true))
        // A ping (opcode 9), then close (8) with 1001.
        #expect(
            seen["silent_ws_frames"]
                == .array([.integer(1), .integer(9), .integer(8), .integer(1001), .string("no answer to ping")])
        )
        #expect(seen["answering_ws_alive"] == .bool(true))
        let metrics = try PythonClient.run("metrics_traffic_only", port: port)
        #expect(metrics["plenum_server_timeouts_total{kind=\"header\"}"]?.numberValue == 1)
        #expect(metrics["plenum_server_timeouts_total{kind=\"idle\"}"]?.numberValue == 1)
        #expect(metrics["plenum_server_timeouts_total{kind=\"ping\"}"]?.numberValue == 1)
    }

    @Test func plainHTTPConnectionsCountTowardMaxConnections() async throws {
        let (hub, port, _) = try startHub(server: ["max_connections": 3])
        defer { hub.kill() }
        let (ready, done) = markers()
        async let held = offPool {
            try PythonClient.run("hold_connections", port: port, ["3", ready, done], timeout: 60)
        }
        #expect(await waitForFile(ready, timeout: 30))
        let refused = try PythonClient.run("get", port: port, ["/healthz"])
        _ = FileManager.default.createFile(atPath: done, contents: nil)
        _ = try await held
        #expect(refused["status"] == .integer(503))
        #expect(refused["body"]?["error"] == .string("too many connections (limit 3)"))
    }
}
