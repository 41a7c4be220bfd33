import Foundation
import PlenumCore
import PlenumDevices
import PlenumTestSupport
import Testing

/// plugins/modbus_device.lua against pymodbus: a register map in params becomes channels.
@Suite(.serialized) struct ModbusDeviceTests {
    private func device(_ hub: DeviceHarness, _ params: [String: JSONValue]) async {
        await hub.supervisor.apply([
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

    @Test func everyTypeAndOrderIsPublishedFromFewRequests() async throws {
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
        await device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.2),
                "points": .array(points),
            ]
        )
        #expect(
            await hub.eventually {
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

    /// 300 contiguous registers (docs/modbus.md "Requests"): more than one request's worth, so
    /// the map is read in requests of at most `max_registers` (125), never splitting a point —
    /// the u32 at 1124 would make the first request 126 registers long, so it starts the
    /// second — and every value arrives. The peer reports the requests it answered.
    @Test func aMapLongerThanOneRequestIsSplitAtMaxRegistersAndEveryValueArrives() async throws {
        let peer = try ModbusPeer.tcp(logReads: true)
        let hub = DeviceHarness()
        var points: [JSONValue] = (1_000..<1_124).map { point("r\($0)", "holding", $0) }
        points.append(point("wide", "holding", 1_124, ["type": .string("u32")]))
        points += (1_126..<1_300).map { point("r\($0)", "holding", $0) }
        await device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.5),
                "points": .array(points),
            ]
        )
        #expect(
            await hub.eventually {
                hub.value("/t/meter/modbus/link") == .string("online") && hub.value("/t/meter/r1299") != nil
            }
        )
        let missing = ((1_000..<1_124).map { $0 } + (1_126..<1_300).map { $0 }).filter {
            hub.value("/t/meter/r\($0)") != .integer(Int64($0))
        }
        #expect(missing.isEmpty, "registers without their value: \(missing)")
        #expect(hub.value("/t/meter/wide") == .integer(1_124 << 16 | 1_125))
        #expect(hub.log.entries.contains { $0.contains("polling 299 points in 3 requests") })
        let reads = peer.reads.map { [$0.function, $0.address, $0.count] }
        #expect(Array(reads.prefix(3)) == [[3, 1_000, 124], [3, 1_124, 125], [3, 1_249, 51]], "\(reads)")
        #expect(reads.allSatisfy { $0[2] <= 125 }, "\(reads)")
    }

    /// The documented backoff (docs/modbus.md "Outages"): while the device is unreachable the
    /// next attempt waits poll_s, then twice that, … up to max_backoff_s, one log line per step;
    /// attempts go on at max_backoff_s; once the device answered, an outage starts again at
    /// poll_s. The listener counts the attempts (it accepts each connection and hangs up).
    @Test func anUnreachableDeviceIsRetriedWithABackoffThatDoublesUpToMaxBackoff() async throws {
        let listener = try ModbusPeer.hangUp()
        let hub = DeviceHarness()
        await device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(listener.port)), "poll_s": .double(0.125),
                "timeout": .double(0.3), "max_backoff_s": .double(0.75),
                "points": .array([point("u16", "holding", 0)]),
            ]
        )
        let steps: @Sendable () -> [String] = {
            hub.log.entries.compactMap { entry in
                entry.range(of: "unreachable: next attempt in ").map {
                    String(entry[$0.upperBound...].prefix { $0 != " " })
                }
            }
        }
        #expect(await hub.eventually { hub.value("/t/meter/modbus/link") == .string("timeout") })
        // Four steps of the backoff; then three more attempts at its ceiling, with no new step.
        #expect(await hub.eventually(timeout: 30) { steps().count >= 4 }, "\(steps())")
        let attempts = listener.connections
        #expect(await hub.eventually(timeout: 30) { listener.connections >= attempts + 3 }, "\(listener.output)")
        #expect(steps() == ["0.125", "0.25", "0.5", "0.75"])

        // The device comes back on the same port: online, then a new outage starts at poll_s.
        listener.kill()
        let peer = try ModbusPeer.tcp(port: listener.port)
        #expect(await hub.eventually(timeout: 20) { hub.value("/t/meter/modbus/link") == .string("online") })
        #expect(await hub.eventually { hub.value("/t/meter/u16") == .integer(0xBEEF) })
        peer.kill()
        #expect(await hub.eventually { steps().count >= 6 }, "\(steps())")
        #expect(Array(steps().dropFirst(4).prefix(2)) == ["0.125", "0.25"], "\(steps())")
        #expect(hub.status("meter")?["restarts"] == .integer(0))
    }

    /// That the waits are really slept, by counting rather than timing: two unreachable
    /// devices retry side by side, one with no backoff (max_backoff_s = poll_s), one doubling
    /// up to 4 s. By the time the first has made 20 attempts (at least 2.5 s), the second has
    /// made about 5 (0, 0.125, 0.375, 0.875, 1.875 s, then every 4 s); it could reach 10 only if
    /// the first were slowed ninefold. Without the backoff both would count alike.
    @Test func backingOffMakesFarFewerAttemptsThanRetryingAtPollS() async throws {
        let steady = try ModbusPeer.hangUp()
        let backingOff = try ModbusPeer.hangUp()
        let hub = DeviceHarness()
        func spec(_ name: String, _ listener: ModbusPeer, maxBackoff: Double) -> DeviceSpec {
            DeviceHarness.spec(
                name,
                script: "modbus_device.lua",
                params: .object([
                    "host": .string("127.0.0.1"), "port": .integer(Int64(listener.port)), "poll_s": .double(0.125),
                    "timeout": .double(0.3), "max_backoff_s": .double(maxBackoff),
                    "points": .array([point("u16", "holding", 0)]),
                ]),
                directory: ShippedPluginTests.plugins
            )
        }
        await hub.supervisor.apply([
            spec("steady", steady, maxBackoff: 0.125), spec("backing", backingOff, maxBackoff: 4),
        ])
        #expect(await hub.eventually(timeout: 60) { steady.connections >= 20 }, "\(steady.output)")
        let attempts = backingOff.connections
        #expect((1..<10).contains(attempts), "\(attempts) attempts while the steady device made 20")
        #expect(hub.value("/t/backing/modbus/link") == .string("timeout"))
    }

    @Test func aKilledPeerIsATimeoutAndTheDeviceRecoversByItself() async throws {
        let peer = try ModbusPeer.tcp()
        let hub = DeviceHarness()
        await device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.1),
                "timeout": .double(0.3), "max_backoff_s": .double(0.4),
                "points": .array([point("u16", "holding", 0)]),
            ]
        )
        #expect(await hub.eventually { hub.value("/t/meter/modbus/link") == .string("online") })
        #expect(hub.value("/t/meter/u16") == .integer(0xBEEF))
        peer.kill()
        #expect(await hub.eventually { hub.value("/t/meter/modbus/link") == .string("timeout") })
        #expect(await hub.eventually { hub.log.entries.contains { $0.contains("link: timeout modbus connection:") } })
        let down = hub.version("/t/meter/u16")
        try peer.restart()
        #expect(await hub.eventually { hub.value("/t/meter/modbus/link") == .string("online") })
        #expect(await hub.eventually { hub.version("/t/meter/u16") > down })
        #expect(hub.status("meter")?["state"] == .string("running"))
        #expect(hub.status("meter")?["restarts"] == .integer(0))
    }

    @Test func aSilentDeviceIsReportedAsTimeout() async throws {
        let silent = try SilentListener()
        let hub = DeviceHarness()
        await device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(silent.port)), "timeout": .double(0.2),
                "points": .array([point("u16", "holding", 0)]),
            ]
        )
        #expect(await hub.eventually { hub.value("/t/meter/modbus/link") == .string("timeout") })
    }

    @Test func anExceptionIsAnErrorStateAndOtherPointsKeepPolling() async throws {
        let peer = try ModbusPeer.tcp()
        let hub = DeviceHarness()
        await device(
            hub,
            [
                "host": .string("127.0.0.1"), "port": .integer(Int64(peer.port)), "poll_s": .double(0.1),
                "points": .array([point("good", "holding", 0), point("missing", "holding", 5_000)]),
            ]
        )
        #expect(
            await hub.eventually {
                hub.value("/t/meter/modbus/link")
                    == .string(
                        "error: modbus exception: illegal data address (read 1 holding register at 5000) (tcp 127.0.0.1:\(peer.port), unit 1)"
                    )
            }
        )
        let before = hub.version("/t/meter/good")
        #expect(await hub.eventually { hub.version("/t/meter/good") > before + 2 })
    }

    @Test func rtuOverAPtyWithACorruptedCRCIsAnErrorThenFine() async throws {
        let link = try SerialLink()
        let peer = try ModbusPeer.rtu(path: link.deviceSide)
        defer { withExtendedLifetime(peer) {} }
        let hub = DeviceHarness()
        await device(
            hub,
            [
                "serial": .string(link.hubSide), "baud": .integer(9_600), "poll_s": .double(0.1),
                "points": .array([
                    point("f32", "holding", peer.vectors[4].address, ["type": .string("f32")]),
                    point("noisy", "holding", 950, ["poll_s": .double(0.5)]),
                ]),
            ]
        )
        #expect(await hub.eventually { hub.value("/t/meter/f32")?.numberValue.map { Float($0) } == Float(42.4242) })
        #expect(
            await hub.eventually {
                hub.value("/t/meter/modbus/link")?.stringValue?.hasPrefix(
                    "error: modbus crc: CRC error in the response (read 1 holding register at 950)"
                ) == true
            }
        )
        #expect(await hub.eventually { hub.value("/t/meter/modbus/link") == .string("online") })
    }
}
