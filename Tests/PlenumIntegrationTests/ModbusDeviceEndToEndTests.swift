import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// `plugins/modbus_device.lua` in the built `plenum` binary against the pymodbus peer
/// (docs/modbus.md): a register map in hub.yaml becomes channels a WebSocket client receives,
/// and the client's writes to writable points reach the device's registers.
@Suite(.serialized) struct ModbusDeviceEndToEndTests {
    @Test func valuesReachAWebSocketClientAndItsWritesReachTheDevice() async throws {
        let peer = try ModbusPeer.tcp()
        defer { peer.kill() }
        let u32 = try #require(peer.vectors.first { $0.type == "u32" && $0.order == "ABCD" })
        let f32 = try #require(peer.vectors.first { $0.type == "f32" && $0.order == "CDAB" })
        let yaml = """
            devices:
              - name: meter
                script: plugins/modbus_device.lua
                prefix: /field/meter
                params:
                  host: 127.0.0.1
                  port: \(peer.port)
                  timeout: 0.5
                  poll_s: 0.2
                  points:
                    - { name: energy, table: holding, address: \(u32.address), type: u32 }
                    - { name: supply_temp, table: holding, address: \(f32.address), type: f32, order: CDAB, unit: °C }
                    - { name: coil2, table: coil, address: 2 }
                    - { name: setpoint, table: holding, address: 100, type: f32, order: CDAB, writable: { min: 4, max: 12 } }
                    - { name: mode, table: holding, address: 102, values: { 0: "off", 1: auto, 2: manual }, writable: true }

            """
        let plugin = try String(
            contentsOfFile: PythonClient.repositoryRoot + "/plugins/modbus_device.lua",
            encoding: .utf8
        )
        let directory = try HubDirectory(yaml: yaml, scripts: ["modbus_device.lua": plugin])
        let check = try PlenumBinary.run(["check", "--config", "hub.yaml"], in: directory.path)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let port = try #require(try directory.start())

        // 5 points, the link and the point list: the client waits for these 7 channels, then writes.
        let seen = try await offPool {
            try PythonClient.run(
                "watch_and_write",
                port: port,
                [
                    "/field/meter/**", "7", "/field/meter/setpoint", "7.25", "/field/meter/mode", "\"manual\"",
                    "/field/meter/setpoint", "25",
                ]
            )
        }
        let before = try #require(seen["before"])
        #expect(before["/field/meter/modbus/link"] == .string("online"), "\(seen)")
        #expect(before["/field/meter/energy"]?.numberValue == u32.value.numberValue)
        #expect(before["/field/meter/supply_temp"]?.numberValue.map { Float($0) } == Float(42.4242))
        #expect(before["/field/meter/coil2"] == .bool(true))
        #expect(before["/field/meter/setpoint"] == .integer(0) || before["/field/meter/setpoint"] == .double(0))
        #expect(before["/field/meter/mode"] == .string("off"))

        // The two valid writes are accepted, reach the registers as documented (f32 CDAB with
        // function 16, a named value as its raw number with function 6) and are read back.
        #expect(seen["answers"]?["1"]?["ok"] == .bool(true), "\(seen)")
        #expect(seen["answers"]?["2"]?["ok"] == .bool(true), "\(seen)")
        #expect(
            peer.waitForWrite {
                $0.function == 16 && $0.address == 100 && $0.values == [.integer(0), .integer(0x40E8)]
            }
        )
        #expect(peer.waitForWrite { $0.function == 6 && $0.address == 102 && $0.values == [.integer(2)] })
        #expect(seen["after"]?["/field/meter/setpoint"] == .double(7.25))
        #expect(seen["after"]?["/field/meter/mode"] == .string("manual"))
        // Out of the map's bounds: refused by the hub, never sent to the device.
        #expect(seen["answers"]?["3"]?["ok"] == .bool(false))
        #expect(seen["answers"]?["3"]?["code"] == .string("out_of_range"))
        #expect(peer.writes.filter { $0.address == 100 }.count == 1, "\(peer.writes)")

        directory.hub?.signal(SIGTERM)
        #expect(directory.hub?.waitForExit() == 0)
    }
}
