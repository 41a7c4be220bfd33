import Foundation
import PlenumCore
import PlenumDevices
import PlenumTestSupport
import Testing

/// plugins/modbus_device.lua against pymodbus: a register map in params becomes channels.
@Suite(.serialized) struct ModbusDeviceTests {
    private func device(_ hub: DeviceHarness, _ params: [String: JSONValue]) {
        hub.supervisor.apply([
            DeviceHarness.spec(
                "meter",
                script: "modbus_device.lua",
                params: .object(params),
                directory: ShippedPluginTests.plugins
            )
        ])
    }

    private func point(_ name: String, _ table: String, _ address: Int, _ extra: [String: JSONValue] = [:]) -> JSONValue
    {
        var fields: [String: JSONValue] = [
            "name": .string(name), "table": .string(table), "address": .integer(Int64(address)),
        ]
        fields.merge(extra) { _, new in new }
        return .object(fields)
    }

    @Test func everyTypeAndOrderIsPublishedFromFewRequests() throws {
        let peer = try ModbusPeer.tcp()
        let hub = DeviceHarness()
        var points: [JSONValue] = peer.vectors.map { vector in
            point(
                "\(vector.type)_\(vector.order)",
                "holding",
                vector.address,
                ["type": .string(vector.type), "order": .string(vector.order)]
            )
        }
        points.append(point("scaled", "input", 0, ["scale": .double(0.1), "offset": .integer(-40)]))
        points.append(point("coil3", "coil", 3))
        points.append(
            point("di1", "discrete", 1, ["values": .object(["true": .string("on"), "false": .string("off")])])
        )
        device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.2),
                "points": .array(points),
            ]
        )
        #expect(
            hub.eventually {
                hub.value("/t/meter/modbus/link") == .string("online") && hub.value("/t/meter/di1") != nil
            }
        )
        for vector in peer.vectors {
            let value = hub.value("/t/meter/\(vector.type)_\(vector.order)")
            if vector.type == "f32" {
                #expect(value?.numberValue.map { Float($0) } == vector.value.numberValue.map { Float($0) })
            } else {
                #expect(value?.numberValue == vector.value.numberValue, "\(vector.type) \(vector.order)")
            }
        }
        #expect(hub.value("/t/meter/scaled") == .double(48_879.0 / 10 - 40))
        #expect(hub.value("/t/meter/coil3") == .bool(true))
        #expect(hub.value("/t/meter/di1") == .string("on"))
        // 80 holding registers in one request, 1 input, 1 coil, 1 discrete.
        #expect(hub.log.entries.contains { $0.contains("polling 35 points in 4 requests") })
        #expect(hub.value("/t/meter/modbus/points")?["f32_CDAB"]?["type"] == .string("f32"))
    }

    @Test func aKilledPeerIsATimeoutAndTheDeviceRecoversByItself() throws {
        let peer = try ModbusPeer.tcp()
        let hub = DeviceHarness()
        device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.1),
                "timeout": .double(0.3), "max_backoff_s": .double(0.4),
                "points": .array([point("u16", "holding", 0)]),
            ]
        )
        #expect(hub.eventually { hub.value("/t/meter/modbus/link") == .string("online") })
        #expect(hub.value("/t/meter/u16") == .integer(0xBEEF))
        peer.kill()
        #expect(hub.eventually { hub.value("/t/meter/modbus/link") == .string("timeout") })
        #expect(hub.eventually { hub.log.entries.contains { $0.contains("link: timeout modbus connection:") } })
        let down = hub.version("/t/meter/u16")
        try peer.restart()
        #expect(hub.eventually { hub.value("/t/meter/modbus/link") == .string("online") })
        #expect(hub.eventually { hub.version("/t/meter/u16") > down })
        #expect(hub.status("meter")?["state"] == .string("running"))
        #expect(hub.status("meter")?["restarts"] == .integer(0))
    }

    @Test func aSilentDeviceIsReportedAsTimeout() throws {
        let silent = try SilentListener()
        let hub = DeviceHarness()
        device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(silent.port)), "timeout": .double(0.2),
                "points": .array([point("u16", "holding", 0)]),
            ]
        )
        #expect(hub.eventually { hub.value("/t/meter/modbus/link") == .string("timeout") })
    }

    @Test func anExceptionIsAnErrorStateAndOtherPointsKeepPolling() throws {
        let peer = try ModbusPeer.tcp()
        let hub = DeviceHarness()
        device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.1),
                "points": .array([point("good", "holding", 0), point("missing", "holding", 5_000)]),
            ]
        )
        #expect(
            hub.eventually {
                hub.value("/t/meter/modbus/link")
                    == .string(
                        "error: modbus exception: illegal data address (read 1 holding register at 5000) (tcp 127.0.0.1:\(peer.port), unit 1)"
                    )
            }
        )
        let before = hub.version("/t/meter/good")
        #expect(hub.eventually { hub.version("/t/meter/good") > before + 2 })
    }

    @Test func rtuOverAPtyWithACorruptedCRCIsAnErrorThenFine() throws {
        let link = try SerialLink()
        let peer = try ModbusPeer.rtu(path: link.deviceSide)
        defer { withExtendedLifetime(peer) {} }
        let hub = DeviceHarness()
        device(
            hub,
            [
                "serial": .string(link.hubSide), "baud": .integer(9_600), "poll_s": .double(0.1),
                "points": .array([
                    point("f32", "holding", peer.vectors[4].address, ["type": .string("f32")]),
                    point("noisy", "holding", 950, ["poll_s": .double(0.5)]),
                ]),
            ]
        )
        #expect(hub.eventually { hub.value("/t/meter/f32")?.numberValue.map { Float($0) } == Float(42.4242) })
        #expect(
            hub.eventually {
                hub.value("/t/meter/modbus/link")?.stringValue?.hasPrefix(
                    "error: modbus crc: CRC error in the response (read 1 holding register at 950)"
                ) == true
            }
        )
        #expect(hub.eventually { hub.value("/t/meter/modbus/link") == .string("online") })
    }
}
