import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// What the soak test (`make soak`, docs/reliability.md) found, kept fixed against `plenum run`.
@Suite(.serialized) struct SoakFindingsTests {
    /// With over a thousand connections open, every descriptor below FD_SETSIZE is taken; a Modbus
    /// connection made then (here: a second poller of line 1's simulated chiller, added by a
    /// SIGHUP, so the poller and the simulator's server both get a new socket) made libmodbus's
    /// select() abort the hub ("bit out of range 0 - FD_SETSIZE on fd_set"). Now the hub stays up
    /// and the new device reads its point.
    @Test func modbusKeepsWorkingWithOverAThousandClientsConnected() async throws {
        let plant = try RunCommandTests.shippedPlant()
        defer { try? FileManager.default.removeItem(atPath: plant.directory) }
        let config = plant.directory + "/hub.yaml"
        // Held connections send nothing: give them longer than the test takes.
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "  tick_ms: 10\n", with: "  tick_ms: 10\n  header_timeout_ms: 120000\n")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let hub = try RunCommandTests.runHub(in: plant.directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        func link() -> JSONValue? {
            HTTP.get(port: port, "/api/channels/plant/line1/chiller-1/modbus/link").flatMap {
                try? JSONParser.parse($0.body)
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, link()?["value"] != .string("online") { usleep(100_000) }
        #expect(link()?["value"] == .string("online"))

        let marker = NSTemporaryDirectory() + "plenum-marker-\(UUID().uuidString)"
        let done = marker + "-done"
        defer {
            try? FileManager.default.removeItem(atPath: marker)
            try? FileManager.default.removeItem(atPath: done)
        }
        async let held = offPool {
            try PythonClient.run("hold_connections", port: port, ["1100", marker, done], timeout: 120)
        }
        #expect(await waitForFile(marker, timeout: 60))
        // The kernel completed the connections; wait until the hub has accepted them all.
        func descriptors() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(hub.pid)/fd").count) ?? 0
        }
        let accepted = Date().addingTimeInterval(30)
        while Date() < accepted, descriptors() < 1_100 { usleep(50_000) }
        #expect(descriptors() >= 1_100)
        // A second poller of the simulated controller: a new client socket and a new accepted one.
        let copy = """
              - name: chiller-1-copy
                script: plugins/modbus_device.lua
                prefix: /copy/chiller-1
                params:
                  host: 127.0.0.1
                  port: \(plant.modbusPort)
                  unit: 1
                  timeout: 0.5
                  poll_s: 0.5
                  points:
                    - { name: supply_temp, table: input, address: 0, type: f32 }

            """
        try (yaml + copy).write(toFile: config, atomically: true, encoding: .utf8)
        hub.signal(SIGHUP)
        func copied() -> JSONValue? {
            HTTP.get(port: port, "/api/channels/copy/chiller-1/supply_temp").flatMap { try? JSONParser.parse($0.body) }
        }
        let again = Date().addingTimeInterval(30)
        while Date() < again, copied()?["value"]?.numberValue == nil, !hub.text.contains("FD_SETSIZE") {
            usleep(200_000)
        }
        let value = copied()?["value"]?.numberValue
        _ = FileManager.default.createFile(atPath: done, contents: nil)
        let connections = try await held
        #expect((connections["opened"]?.numberValue ?? 0) >= 1_100, "\(connections)")
        #expect(value.map { (2...12).contains($0) } == true, "\(hub.text.suffix(3000))")
        #expect(link()?["value"] == .string("online"))
        #expect(!hub.text.contains("FD_SETSIZE"), "\(hub.text.suffix(3000))")
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }
}
