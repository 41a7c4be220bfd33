import Foundation
import PlenumCore
import PlenumModbus
import PlenumTestSupport
import Testing

/// `plenum run` as an operator runs it: the real binary, real signals, a real client.
@Suite(.serialized) struct RunCommandTests {
    static let repository = PythonClient.repositoryRoot

    private func get(_ port: Int, _ path: String) throws -> JSONValue {
        try PythonClient.run("get", port: port, [path])["body"] ?? .null
    }

    private func channels(_ port: Int) throws -> [String] {
        guard case .array(let list)? = try get(port, "/api/channels")["channels"] else { return [] }
        return list.compactMap { $0["channel"]?.stringValue }
    }

    @Test func theShippedConfigurationIsValid() throws {
        let result = try PlenumBinary.run(["check", "--config", "hub.yaml"], in: Self.repository)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("devices: 7"))
        #expect(result.stdout.contains("trends: trends.db, aggregates 30 d, raw samples under 1 prefix(es)"))
    }

    /// The shipped hub.yaml in a scratch directory (its plugins/ linked), with the simulated
    /// chiller controller's Modbus port moved to a free one so that runs never collide.
    static func shippedPlant() throws -> (directory: String, modbusPort: Int) {
        let directory = NSTemporaryDirectory() + "plenum-plant-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/plugins",
            withDestinationPath: repository + "/plugins"
        )
        let port = try freeLoopbackPort()
        let yaml = try String(contentsOfFile: repository + "/hub.yaml", encoding: .utf8)
        #expect(yaml.components(separatedBy: "15020").count >= 3, "hub.yaml serves and polls port 15020")
        try yaml.replacingOccurrences(of: "15020", with: String(port)).write(
            toFile: directory + "/hub.yaml",
            atomically: true,
            encoding: .utf8
        )
        return (directory, port)
    }

    /// `plenum run` on the hub.yaml in `directory`, on a port the kernel picks.
    static func runHub(in directory: String) throws -> RunningProcess {
        try RunningProcess(PlenumBinary.path, ["run", "--config", "hub.yaml", "--port", "0"], in: directory)
    }

    @Test func theShippedPlantPublishesEveryDocumentedChannel() throws {
        let plant = try Self.shippedPlant()
        defer { try? FileManager.default.removeItem(atPath: plant.directory) }
        let hub = try Self.runHub(in: plant.directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        var expected: [String] = []
        for (line, chiller, ahu) in [("line1", "chiller-1", "ahu-1"), ("line2", "chiller-2", "ahu-2")] {
            for point in [
                "supply_temp", "return_temp", "condenser_temp", "setpoint", "load_pct", "power_kw", "cop", "status",
            ] {
                expected.append("/plant/\(line)/\(chiller)/\(point)")
            }
            for point in ["forecast", "alarm"] { expected.append("/plant/\(line)/\(chiller)/predictor/\(point)") }
            for point in [
                "outdoor_temp", "return_temp", "mixed_temp", "supply_temp", "supply_setpoint", "damper_pct",
                "valve_pct",
                "fan_status", "filter_dp",
            ] {
                expected.append("/plant/\(line)/\(ahu)/\(point)")
            }
            for device in [chiller, ahu, "\(chiller)-predictor"] { expected.append("/plenum/devices/\(device)/status") }
        }
        // Line 1's chiller is read over Modbus: its link state and point list, and the simulator.
        expected += [
            "/plant/line1/chiller-1/modbus/link", "/plant/line1/chiller-1/modbus/points",
            "/plenum/devices/chiller-1-sim/status",
        ]
        // The trend store (trends.enabled in the shipped hub.yaml) reports on its status channel.
        expected.append("/plenum/trends/status")
        let deadline = Date().addingTimeInterval(20)
        var seen: [String] = []
        while Date() < deadline {
            seen = try channels(port)
            if Set(expected).isSubset(of: Set(seen)) { break }
            usleep(200_000)
        }
        #expect(Set(expected).subtracting(seen).isEmpty, "missing: \(Set(expected).subtracting(seen).sorted())")
        #expect(Set(seen).subtracting(expected).isEmpty, "undocumented: \(Set(seen).subtracting(expected).sorted())")
        let ready = try get(port, "/readyz")
        #expect(ready["status"] == .string("ready"))
        #expect(ready["details"]?["trends"]?["state"] == .string("running"))
        for device in ["chiller-1", "ahu-1", "chiller-2-predictor"] {
            #expect(
                try get(port, "/api/channels/plenum/devices/\(device)/status")["value"]?["state"] == .string("running")
            )
        }
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }

    /// Line 1's chiller readings travel through Modbus TCP: the simulated controller serves
    /// registers, modbus_device.lua polls them; a setpoint written to the controller over Modbus
    /// comes back on the channel.
    @Test func lineOnesChillerArrivesThroughModbus() throws {
        let plant = try Self.shippedPlant()
        defer { try? FileManager.default.removeItem(atPath: plant.directory) }
        let hub = try Self.runHub(in: plant.directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        let deadline = Date().addingTimeInterval(20)
        func value(_ path: String) throws -> JSONValue? { try get(port, "/api/channels" + path)["value"] }
        while Date() < deadline, try value("/plant/line1/chiller-1/modbus/link") != .string("online") {
            usleep(100_000)
        }
        #expect(try value("/plant/line1/chiller-1/modbus/link") == .string("online"))
        let status = try value("/plenum/devices/chiller-1/status")
        #expect(status?["script"] == .string("plugins/modbus_device.lua"))
        #expect(status?["state"] == .string("running"))
        // On a loaded machine the first poll may come before the simulator's first pass: wait
        // for the controller's own state (its registers hold a plausible one from the start).
        while Date() < deadline, try value("/plant/line1/chiller-1/status") != .string("running") {
            usleep(100_000)
        }
        let supply = try #require(try value("/plant/line1/chiller-1/supply_temp")?.numberValue)
        #expect((4...12).contains(supply))
        #expect(try value("/plant/line1/chiller-1/status") == .string("running"))
        #expect(try value("/plant/line1/chiller-1/setpoint") == .double(6.5))

        let controller = try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: plant.modbusPort), unit: 1))
        let words = try RegisterCodec.encode(.double(7.25), as: RegisterFormat(.f32, order: .cdab))
        try controller.writeRegisters(at: 0, values: words.map(Int.init))
        while Date() < deadline, try value("/plant/line1/chiller-1/setpoint") != .double(7.25) { usleep(100_000) }
        #expect(try value("/plant/line1/chiller-1/setpoint") == .double(7.25))
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }

    @Test func anInvalidConfigurationIsRefusedWithItsErrors() throws {
        let result = try PlenumBinary.run(["run", "--config", "five-mistakes.yaml", "--port", "0"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("five-mistakes.yaml:2:9: server.port: 70000 is out of range"))
        #expect(result.stderr.contains("plenum: not starting: 6 problem(s) in five-mistakes.yaml"))
    }

    @Test func sighupReloadsHubYamlAndABadOneKeepsTheRunningSet() async throws {
        let directory = NSTemporaryDirectory() + "plenum-hup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(
            atPath: PlenumBinary.fixtures + "/plugins/counter.lua",
            toPath: directory + "/plugins/counter.lua"
        )
        let one =
            "devices:\n  - name: a\n    script: plugins/counter.lua\n    prefix: /hup/a\n    params: {period_ms: 20}\n"
        try one.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--port", "0"], in: directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())

        // A client stays subscribed to everything throughout.
        let marker = NSTemporaryDirectory() + "plenum-hup-marker-\(UUID().uuidString)"
        let ready = marker + "-ready"
        async let client = offPool {
            try PythonClient.run("watch_through", port: port, ["/hup/**", marker, "8", ready])
        }
        #expect(await waitForFile(ready))

        let two = one + "  - name: b\n    script: plugins/counter.lua\n    prefix: /hup/b\n"
        try two.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        hub.signal(SIGHUP)
        let appeared = Date().addingTimeInterval(10)
        while Date() < appeared, !(try channels(port)).contains("/hup/b/count") { usleep(100_000) }
        #expect(try channels(port).contains("/hup/b/count"))

        try (two + "  - name: c\n    script: plugins/missing.lua\n    prefix: /hup/c\n").write(
            toFile: directory + "/hub.yaml",
            atomically: true,
            encoding: .utf8
        )
        hub.signal(SIGHUP)
        #expect(hub.waitFor("reload rejected: 1 problem\\(s\\)") != nil)
        #expect(!hub.text.contains("server settings changed"))
        #expect(hub.text.contains("hub.yaml:10:13: devices[2].script: script 'plugins/missing.lua' not found"))
        let before = try get(port, "/api/channels/hup/b/count")["version"]?.numberValue ?? 0
        usleep(500_000)
        #expect((try get(port, "/api/channels/hup/b/count")["version"]?.numberValue ?? 0) > before)
        #expect(!(try channels(port)).contains { $0.hasPrefix("/plenum/devices/c") })

        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        let seen = try await client
        #expect(seen["closed"] == .bool(false))
        #expect(seen["channels"] == .array([.string("/hup/a/count"), .string("/hup/b/count")]))
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }
}
