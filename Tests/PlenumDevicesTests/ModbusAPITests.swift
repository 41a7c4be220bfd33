import Foundation
import PlenumCore
import PlenumDevices
import PlenumModbus
import PlenumTestSupport
import Testing

/// `hub.modbus` from scripts, against pymodbus and against our own server.
@Suite(.serialized) struct ModbusAPITests {
    @Test func scriptsReadWriteAndDecodeEveryTypeAndOrder() throws {
        let peer = try ModbusPeer.tcp()
        let hub = DeviceHarness()
        let vectors: [JSONValue] = peer.vectors.map { vector in
            .object([
                "type": .string(vector.type), "order": .string(vector.order),
                "address": .integer(Int64(vector.address)), "count": .integer(Int64(vector.registers.count)),
            ])
        }
        hub.supervisor.apply([
            DeviceHarness.spec(
                "mb",
                script: "modbus_probe.lua",
                params: .object(["port": .integer(Int64(peer.port)), "vectors": .array(vectors)])
            ) { $0.cpuGuardSeconds = 5 }
        ])
        #expect(hub.eventually { hub.value("/t/mb/done") == .bool(true) })
        guard case .array(let decoded)? = hub.value("/t/mb/decoded") else {
            Issue.record("no decoded values: \(String(describing: hub.status("mb")))")
            return
        }
        #expect(decoded.count == peer.vectors.count)
        for (vector, value) in zip(peer.vectors, decoded) {
            if vector.type == "f32" {
                #expect(value.numberValue.map { Float($0) } == vector.value.numberValue.map { Float($0) })
            } else {
                #expect(value.numberValue == vector.value.numberValue, "\(vector.type) \(vector.order)")
            }
        }
        #expect(hub.value("/t/mb/input") == .array([.integer(0xBEEF), .integer(0xFFFE), .integer(0xB2D0)]))
        #expect(hub.value("/t/mb/coils") == .array([.bool(true), .bool(false), .bool(true), .bool(true)]))
        #expect(hub.value("/t/mb/discrete") == .array([.bool(false), .bool(true), .bool(true), .bool(false)]))
        #expect(abs((hub.value("/t/mb/scaled")?.numberValue ?? 0) - 11.2) < 1e-9)
        #expect(peer.waitForWrite { $0.function == 6 && $0.address == 100 && $0.values == [.integer(0xBEEF)] })
        #expect(
            peer.waitForWrite {
                $0.function == 16 && $0.address == 101 && $0.values == [.integer(0x4229), .integer(0xB261)]
            }
        )
        #expect(peer.waitForWrite { $0.function == 5 && $0.address == 3 && $0.values == [.bool(true)] })
        #expect(hub.value("/t/mb/read_back") == .array([.integer(0xBEEF), .integer(0x4229), .integer(0xB261)]))

        let at = "(tcp 127.0.0.1:\(peer.port), unit 1)"
        let expected: [String] = [
            "modbus_probe.lua:26: modbus exception: illegal data address (read 2 holding registers at 5000) \(at)",
            "modbus_probe.lua:27: modbus exception: slave device busy (read 1 holding register at 900) \(at)",
            "modbus_probe.lua:28: bad argument #1 to 'read_holding' (address 70000 must be an integer from 0 to 65535)",
            "modbus_probe.lua:29: bad argument #2 to 'read_coils' (count 2001 must be an integer from 1 to 2000)",
            "modbus_probe.lua:30: bad argument #2 to 'write_register' (value 70000 must be an integer from 0 to 65535 (hub.modbus.encode signed or wider values))",
            "modbus_probe.lua:31: bad argument #2 to 'write_registers' (values[2] = string \"x\" does not fit a register (0…65535; hub.modbus.encode other values))",
            "modbus_probe.lua:32: bad argument #2 to 'write_coil' (boolean expected, got number)",
            "modbus_probe.lua:33: hub.modbus.tcp: unknown option 'prot' (expected host, port, unit, timeout)",
            "modbus_probe.lua:34: hub.modbus.tcp: timeout: the duration -1.0 is negative; expected 0 or more seconds",
            "modbus_probe.lua:35: hub.modbus.tcp: timeout: the duration is NaN; expected a number of seconds (math.huge for no limit)",
            "modbus_probe.lua:36: hub.modbus.rtu: parity \"mark\" must be \"none\", \"even\" or \"odd\"",
            "modbus_probe.lua:37: bad argument #3 to 'hub.modbus.decode' (a f32 at index nil needs registers 1…2, the list has 1)",
            "modbus_probe.lua:38: hub.modbus.encode: 70000 does not fit a u16 (0…65535)",
            "modbus_probe.lua:39: read_holding: not an open Modbus connection (call it as conn:read_holding(…); closed already?)",
        ]
        guard case .array(let errors)? = hub.value("/t/mb/errors") else {
            Issue.record("no errors published")
            return
        }
        for (got, want) in zip(errors, expected) { #expect(got == .string(want)) }
        #expect(errors.count == expected.count)
        #expect(
            hub.value("/t/mb/after_close")
                == .string(
                    "modbus_probe.lua:42: read_holding: not an open Modbus connection (call it as conn:read_holding(…); closed already?)"
                )
        )
    }

    @Test func aStopInterruptsABlockedCallWithinTheGracePeriod() throws {
        let silent = try SilentListener()
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec(
                "blocked",
                script: "modbus_block.lua",
                params: .object(["port": .integer(Int64(silent.port))])
            )
        ])
        #expect(hub.eventually { hub.value("/t/blocked/reading") == .bool(true) })
        usleep(100_000)
        hub.supervisor.stopAll()
        #expect(hub.status("blocked")?["state"] == .string("stopped"))
        #expect(!hub.log.entries.contains { $0.contains("did not stop within its grace period") })
        #expect(
            hub.value("/t/blocked/result")?.stringValue?.contains("modbus interrupted: the device is stopping") == true
        )
    }

    @Test func aLongBlockingCallDoesNotTripTheCPUGuard() throws {
        let silent = try SilentListener()
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec(
                "slow",
                script: "modbus_block.lua",
                params: .object(["port": .integer(Int64(silent.port)), "timeout": .double(1.0)])
            )
        ])
        #expect(hub.eventually { hub.value("/t/slow/survived") == .bool(true) })
        #expect(hub.value("/t/slow/result")?.stringValue?.contains("modbus timeout: no response within 1.0 s") == true)
        #expect(hub.status("slow")?["state"] == .string("running"))
    }

    @Test func aScriptServesRegistersAndSeesClientWrites() throws {
        let hub = DeviceHarness()
        hub.supervisor.apply([DeviceHarness.spec("srv", script: "modbus_serve.lua")])
        #expect(hub.eventually { hub.value("/t/srv/port") != nil })
        let port = Int(try #require(hub.value("/t/srv/port")?.numberValue))
        let client = try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: port), unit: 1))
        #expect(
            try RegisterCodec.decode(client.readHoldingRegisters(at: 0, count: 2), as: .init(.f32)) == .double(21.5)
        )
        #expect(try client.readCoils(at: 0, count: 3) == [false, false, true])
        try client.writeRegisters(
            at: 10,
            values: try RegisterCodec.encode(.double(7.25), as: .init(.f32)).map(Int.init)
        )
        #expect(hub.eventually { hub.value("/t/srv/setpoint") == .double(7.25) })
        hub.supervisor.apply([])
        let refused = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 2) }
        #expect(refused?.kind == .connection || refused?.kind == .timeout)
    }

    @Test func connectionsCloseWhenTheScriptEnds() throws {
        var configuration = ModbusServer.Configuration()
        configuration.port = 0
        let server = try ModbusServer(configuration)
        defer { server.stop() }
        try server.setRegisters(.holdingRegisters, at: 0, [77])
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec(
                "once",
                script: "modbus_once.lua",
                params: .object(["port": .integer(Int64(server.port))])
            )
        ])
        #expect(hub.eventually { hub.value("/t/once/value") == .integer(77) })
        #expect(hub.eventually { hub.status("once")?["state"] == .string("stopped") })
        #expect(hub.eventually { server.connections == 0 })
        #expect(server.requestsServed == 1)
    }
}
