import Foundation
import PlenumCore
import PlenumDevices
import PlenumTestSupport
import Testing

/// Writes to the shipped plant's scripts: each applies what it accepts and the physics follow.
@Suite struct ShippedPluginWriteTests {
    private let plugins = ShippedPluginTests.plugins

    private func write(
        _ router: CommandRouter,
        _ path: String,
        _ value: JSONValue,
        into answers: WriteAnswers,
        _ index: Int
    ) {
        router.submit(
            WriteRequest(channel: try! ChannelPath(path), value: value, via: "test"),
            from: .anonymous,
            completion: answers.completion(index)
        )
    }

    private func number(_ path: String, _ name: String, kind: WritableChannel.Kind = .number) -> WritableChannel {
        WritableChannel(path: try! ChannelPath(path), name: name, kind: kind, minimum: 0, maximum: 30)
    }

    @Test func aChillerTakesANewSetpointAndItsSupplyFollows() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        let params: JSONValue = .object([
            "period": .double(0.05), "day_seconds": .integer(4), "supply_tau_s": .double(0.3),
            "noise": .double(0.01),
        ])
        await hub.supervisor.apply([
            DeviceHarness.spec("ch", script: "chiller.lua", params: params, directory: plugins) {
                $0.writable = [number("/t/ch/setpoint", "setpoint")]
            }
        ])
        #expect(await hub.eventually { hub.value("/t/ch/supply_temp") != nil })
        #expect(hub.value("/t/ch/setpoint") == .double(6.5))
        write(router, "/t/ch/setpoint", .double(10), into: answers, 0)
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(answers[0] == [.ok])
        #expect(hub.value("/t/ch/setpoint") == .double(10))
        #expect(await hub.eventually { abs((hub.value("/t/ch/supply_temp")?.numberValue ?? 0) - 10) < 0.2 })
    }

    @Test func anAirHandlerTakesANewSupplySetpoint() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([
            DeviceHarness.spec(
                "ahu",
                script: "ahu.lua",
                params: .object(["period": .double(0.05), "day_seconds": .integer(4)]),
                directory: plugins
            ) { $0.writable = [number("/t/ahu/supply_setpoint", "supply_setpoint")] }
        ])
        #expect(await hub.eventually { hub.value("/t/ahu/supply_setpoint") == .integer(13) })
        write(router, "/t/ahu/supply_setpoint", .integer(16), into: answers, 0)
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(answers[0] == [.ok])
        #expect(hub.value("/t/ahu/supply_setpoint") == .double(16))
    }

    /// In alarm on a rising ramp; a reset goes back to "ok" at once, and the alarm returns.
    @Test func aPredictorResetStartsOver() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        let params: JSONValue = .object([
            "watch": .string("/t/ramp/value"), "persistence_s": .double(0.3), "threshold": .integer(10),
            "window_s": .integer(2),
        ])
        await hub.supervisor.apply([
            DeviceHarness.spec(
                "ramp",
                script: "ramp.lua",
                params: .object(["start": .integer(12), "rate": .integer(0)])
            ),
            DeviceHarness.spec("pred", script: "predictor.lua", params: params, directory: plugins) {
                $0.writable = [WritableChannel(path: try! ChannelPath("/t/pred/reset"), name: "reset", kind: .boolean)]
            },
        ])
        #expect(await hub.eventually { hub.value("/t/pred/alarm") == .string("alarm") })
        let recorder = try hub.record("/t/pred/alarm")
        write(router, "/t/pred/reset", .bool(true), into: answers, 0)
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(answers[0] == [.ok])
        #expect(await hub.eventually { hub.value("/t/pred/alarm") == .string("alarm") })
        await recorder.stop()
        #expect(recorder.recorded.first == .string("ok"))
        write(router, "/t/pred/reset", .bool(false), into: answers, 1)
        #expect(await hub.eventually { !answers[1].isEmpty })
        #expect(answers[1] == [WriteOutcome(.ok, "nothing to do (write true to reset)")])
    }

    /// Line 1's path: modbus_device.lua writes the simulated controller's holding register over
    /// Modbus TCP, reads it back at once, and the controller's supply temperature follows.
    @Test func aModbusDeviceWritesTheRegisterAndTheControllerApplies() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        let port = try freeLoopbackPort()
        let controller: JSONValue = .object([
            "period": .double(0.05), "day_seconds": .integer(4), "supply_tau_s": .double(0.3), "noise": .double(0.01),
            "modbus": .object(["port": .integer(Int64(port)), "unit": .integer(1)]),
        ])
        let points: JSONValue = .array([
            .object([
                "name": .string("supply_temp"), "table": .string("input"), "address": .integer(0),
                "type": .string("f32"),
            ]),
            .object([
                "name": .string("setpoint"), "table": .string("holding"), "address": .integer(0),
                "type": .string("f32"), "order": .string("CDAB"), "writable": .bool(true),
            ]),
        ])
        let device: JSONValue = .object([
            "host": .string("127.0.0.1"), "port": .integer(Int64(port)), "unit": .integer(1), "timeout": .double(0.5),
            "poll_s": .double(0.1), "points": points,
        ])
        await hub.supervisor.apply([
            DeviceHarness.spec("sim", script: "chiller.lua", params: controller, directory: plugins),
            DeviceHarness.spec("meter", script: "modbus_device.lua", params: device, directory: plugins) {
                $0.writable = [number("/t/meter/setpoint", "setpoint")]
                $0.cpuGuardSeconds = 5
            },
        ])
        #expect(await hub.eventually { hub.value("/t/meter/setpoint")?.numberValue == 6.5 })
        write(router, "/t/meter/setpoint", .double(9.5), into: answers, 0)
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(answers[0] == [.ok])
        // Read back at once, before the next poll.
        #expect(hub.value("/t/meter/setpoint") == .double(9.5))
        #expect(await hub.eventually { abs((hub.value("/t/meter/supply_temp")?.numberValue ?? 0) - 9.5) < 0.2 })
        #expect(hub.log.entries.contains { $0.contains("wrote setpoint = 9.5 for anonymous") })
    }
}
