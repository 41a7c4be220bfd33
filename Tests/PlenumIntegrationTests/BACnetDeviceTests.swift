import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// `plugins/bacnet_device.lua` in the built `plenum` binary, against the bacpypes3 peer, seen
/// by a WebSocket client: COV values pushed end to end, renewal, and recovery after the peer
/// restarts.
@Suite(.serialized) struct BACnetDeviceTests {
    static let repository = PythonClient.repositoryRoot

    private func get(_ port: Int, _ path: String) throws -> JSONValue {
        try PythonClient.run("get", port: port, ["/api/channels" + path])["body"]?["value"] ?? .null
    }

    /// Polls `path` (bounded) until its value satisfies `condition`.
    private func waitFor(
        _ port: Int,
        _ path: String,
        timeout: Double = 30,
        _ condition: (JSONValue) -> Bool
    ) throws
        -> JSONValue?
    {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let value = try get(port, path)
            if condition(value) { return value }
            usleep(200_000)
        }
        return nil
    }

    @Test func covChangesReachAWebSocketClientAndTheDeviceRecoversAfterAPeerRestart() async throws {
        let peer = try BACnetPeer(instance: 4400, period: 1)
        defer { peer.kill() }
        let directory = NSTemporaryDirectory() + "plenum-bacnet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(
            atPath: Self.repository + "/plugins/bacnet_device.lua",
            toPath: directory + "/plugins/bacnet_device.lua"
        )
        let config = """
            server:
              tick_ms: 10
            devices:
              - name: ahu-bacnet
                script: plugins/bacnet_device.lua
                prefix: /bacnet/ahu
                params:
                  device: 4400
                  port: 0
                  bind: 127.0.0.1
                  broadcast: "\(peer.broadcast)"
                  timeout: 0.5
                  retries: 1
                  cov_lifetime: 4
                  heartbeat_s: 1
                  points:
                    - { object: "analog-input:1", channel: supply_temp, cov: true }
                    - { object: "analog-input:1", property: status-flags, channel: supply_flags, poll_s: 2 }
                    - { object: "analog-value:1", channel: setpoint, poll_s: 1 }
                    - { object: "analog-value:1", property: priority-array, channel: setpoint_priority, poll_s: 1 }
                    - { object: "binary-value:1", channel: pump_run, poll_s: 2 }
                    - { object: "analog-value:2", channel: outdoor_temp, cov: true, poll_s: 1 }

            """
        try config.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let check = try PlenumBinary.run(["check", "--config", "hub.yaml"], in: directory)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        let hub = try RunCommandTests.runHub(in: directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        let marker = directory + "/done"
        let ready = directory + "/ready"
        async let watched = offPool {
            try ChildProcess.run(
                PythonClient.python,
                [Self.repository + "/Tests/Clients/bacnet_watch.py", String(port), "/bacnet/ahu/**", marker, ready],
                timeout: 150
            )
        }
        #expect(await waitForFile(ready))

        let online = try waitFor(port, "/bacnet/ahu/link") { $0["state"] == .string("online") }
        #expect(online?["cov"] == .integer(1), "\(hub.text)")
        #expect(online?["polled"] == .integer(5))
        // analog-value:2 refuses COV: it is polled instead.
        #expect(try waitFor(port, "/bacnet/ahu/outdoor_temp") { $0 == .double(12.5) } != nil)
        #expect(hub.text.contains("COV refused for analog-value:2, polling it instead"), "\(hub.text)")
        #expect(online?["address"] == .string(peer.address))
        #expect(try waitFor(port, "/bacnet/ahu/pump_run") { $0 == .integer(1) } != nil)
        #expect(try waitFor(port, "/bacnet/ahu/setpoint") { $0 == .double(21) } != nil)
        #expect(
            try waitFor(port, "/bacnet/ahu/supply_flags") {
                $0 == .array([.bool(false), .bool(false), .bool(false), .bool(false)])
            } != nil
        )
        // An empty priority array publishes as an object with no slots.
        #expect(try waitFor(port, "/bacnet/ahu/setpoint_priority") { $0 == .object([:]) } != nil)

        // 9 s of COV changes: more than two 4 s lifetimes, so renewals happened in between.
        try await Task.sleep(for: .seconds(9))

        // The peer restarts (same address); the device goes offline, then back online.
        peer.kill()
        #expect(try waitFor(port, "/bacnet/ahu/link") { $0["state"] == .string("offline") } != nil)
        let restarted = try BACnetPeer(instance: 4400, port: peer.port, period: 1)
        defer { restarted.kill() }
        #expect(try waitFor(port, "/bacnet/ahu/link", timeout: 60) { $0["state"] == .string("online") } != nil)
        // Values flow again: the restarted peer counts from 20.5 again.
        #expect(try waitFor(port, "/bacnet/ahu/supply_temp", timeout: 20) { ($0.numberValue ?? 99) <= 22 } != nil)
        try await Task.sleep(for: .seconds(3))
        _ = FileManager.default.createFile(atPath: marker, contents: nil)

        let result = try await watched
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONParser.parse(result.stdout)
        guard case .array(let updates)? = output["updates"] else {
            Issue.record("no updates: \(result.stdout)")
            return
        }
        let supply = updates.filter { $0["channel"] == .string("/bacnet/ahu/supply_temp") }
            .compactMap { $0["value"]?.numberValue }
        // Before the restart: every 0.5 step of the peer arrived, in order, none skipped.
        let restart = supply.indices.dropFirst().first { supply[$0] < supply[$0 - 1] } ?? supply.count
        let firstRun = Array(supply[..<restart])
        #expect(firstRun.count >= 8, "supply_temp updates: \(supply)")
        let steps = zip(firstRun, firstRun.dropFirst()).map { $1 - $0 }
        #expect(steps.allSatisfy { abs($0 - 0.5) < 0.001 }, "supply_temp updates: \(supply)")
        // After it: values from the restarted peer, increasing again.
        let secondRun = Array(supply[restart...])
        #expect(secondRun.count >= 2, "supply_temp updates: \(supply)")
        let states = updates.filter { $0["channel"] == .string("/bacnet/ahu/link") }.compactMap {
            $0["value"]?["state"]
        }
        #expect(states.contains(.string("offline")))
        #expect(states.last == .string("online"))
        #expect(!hub.text.contains("COV refused for analog-input:1"), "\(hub.text)")

        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }
}
