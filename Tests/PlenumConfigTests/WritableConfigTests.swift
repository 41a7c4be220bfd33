import PlenumCore
import Testing

@testable import PlenumConfig

/// `writable:` entries and the `commands:` section: decoded with absolute paths, refused at
/// their line and column.
@Suite struct WritableConfigTests {
    private func load(_ yaml: String) throws -> HubConfig {
        try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
    }

    /// A sim.lua device at /plant/c with these lines under `writable:`.
    private func writable(_ entries: String) -> String {
        "devices:\n" + device("c", prefix: "/plant/c") + "    writable:\n"
            + entries.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n") + "\n"
    }

    @Test func everyTypeDecodesWithItsOptions() throws {
        let config = try load(
            """
            server:
              max_pending_writes: 3
            commands:
              timeout_s: 2.5
              max_queued: 4
            \(writable("""
            - { channel: setpoint, type: number, min: 4, max: 12, rate_limit: { count: 6, per_s: 60 }, timeout_s: 10 }
            - { channel: fan/speed, type: integer, min: 0, max: 3 }
            - { channel: enable, type: boolean }
            - { channel: label, type: string, max_length: 32 }
            - { channel: mode, type: enum, values: [auto, "on", "off"] }
            """))
            """
        )
        #expect(config.server.maxPendingWrites == 3)
        #expect(ServerConfig().maxPendingWrites == 16)
        #expect(config.commands.timeoutSeconds == 2.5)
        #expect(config.commands.maxQueued == 4)
        let channels = config.devices[0].writable
        #expect(
            channels == [
                WritableChannel(
                    path: try ChannelPath("/plant/c/setpoint"),
                    name: "setpoint",
                    kind: .number,
                    minimum: 4,
                    maximum: 12,
                    rateLimit: .init(count: 6, seconds: 60),
                    timeoutSeconds: 10
                ),
                WritableChannel(
                    path: try ChannelPath("/plant/c/fan/speed"),
                    name: "fan/speed",
                    kind: .integer,
                    minimum: 0,
                    maximum: 3
                ),
                WritableChannel(path: try ChannelPath("/plant/c/enable"), name: "enable", kind: .boolean),
                WritableChannel(path: try ChannelPath("/plant/c/label"), name: "label", kind: .string, maxLength: 32),
                WritableChannel(
                    path: try ChannelPath("/plant/c/mode"),
                    name: "mode",
                    kind: .enumeration(["auto", "on", "off"])
                ),
            ]
        )
        #expect(try load("devices:\n" + device()).commands == CommandsConfig())
        #expect(CommandsConfig().timeoutSeconds == 5)
        #expect(CommandsConfig().maxQueued == 16)
    }

    @Test func eachMistakeIsLocated() {
        #expect(
            problems(
                writable(
                    """
                    - { type: number }
                    - { channel: /plant/c/x, type: number }
                    - { channel: a, type: numbr }
                    - { channel: b, type: boolean, min: 0 }
                    - { channel: c, type: integer, min: 0.5, max: 3 }
                    - { channel: d, type: number, min: 5, max: 3 }
                    - { channel: e, type: enum }
                    - { channel: f, type: enum, values: [auto, 1, auto] }
                    - { channel: g, type: number, values: [a] }
                    - { channel: h, type: integer, max_length: 3 }
                    - { channel: i, type: number, rate_limit: { count: 0 } }
                    - { channel: j, type: number, rate_limit: { count: 1, per_s: 0 }, timeout_s: 0 }
                    - { channel: k, type: string, colour: red }
                    - { channel: k, type: string }
                    - { channel: l, type: string }
                    - { channel: l, type: boolean }
                    """
                )
            ) == [
                "hub.yaml:6:9: devices[0].writable[0]: missing required key 'channel' (relative to the device prefix)",
                "hub.yaml:7:20: devices[0].writable[1].channel: '/plant/c/x' is not a channel relative to the device prefix, such as setpoint or pumps/p1/speed",
                "hub.yaml:8:29: devices[0].writable[2].type: 'numbr' is not a type; did you mean 'number'? (expected one of: number, integer, boolean, string, enum)",
                "hub.yaml:9:43: devices[0].writable[3].min: 'min' is for number and integer channels, not boolean",
                "hub.yaml:10:43: devices[0].writable[4].min: 0.5 is not an integer; the channel takes integers",
                "hub.yaml:11:50: devices[0].writable[5].max: 3 is below min 5",
                "hub.yaml:12:9: devices[0].writable[6]: missing required key 'values' (the strings an enum accepts)",
                "hub.yaml:13:50: devices[0].writable[7].values[1]: enum values are strings; quote 1 (\"1\") or use an integer channel",
                "hub.yaml:13:53: devices[0].writable[7].values[2]: 'auto' is listed twice",
                "hub.yaml:14:45: devices[0].writable[8].values: 'values' is for enum channels, not number",
                "hub.yaml:15:50: devices[0].writable[9].max_length: 'max_length' is for string channels, not integer",
                "hub.yaml:16:49: devices[0].writable[10].rate_limit: missing required key 'per_s' (at most count writes per per_s seconds)",
                "hub.yaml:16:58: devices[0].writable[10].rate_limit.count: 0 is out of range; expected an integer from 1 to 100000",
                "hub.yaml:17:68: devices[0].writable[11].rate_limit.per_s: 0 is out of range; expected seconds in (0, 86400]",
                "hub.yaml:17:84: devices[0].writable[11].timeout_s: 0 is out of range; expected seconds in (0, 3600]",
                "hub.yaml:18:37: devices[0].writable[12].colour: unknown key 'colour' (expected one of: channel, type, min, max, values, max_length, rate_limit, timeout_s)",
                "hub.yaml:19:20: devices[0].writable[13].channel: channel 'k' is already declared by devices[0].writable[12]",
                "hub.yaml:21:20: devices[0].writable[15].channel: channel 'l' is already declared by devices[0].writable[14]",
            ]
        )
    }

    @Test func aChannelHasOneOwnerAndTheCommandsSectionIsChecked() {
        #expect(
            problems(
                "devices:\n" + device("a", prefix: "/p") + "    writable: [{ channel: b/x, type: boolean }]\n"
                    + device("b", prefix: "/p/b") + "    writable: [{ channel: x, type: boolean }]\n"
                    + "commands: { timeout_s: 0, max_queued: 0, retries: 3 }\n"
            ) == [
                "hub.yaml:9:27: devices[1].writable[0].channel: /p/b/x is already writable through device 'a' (line 5); a channel has one owner",
                "hub.yaml:10:42: commands.retries: unknown key 'retries' (expected one of: timeout_s, max_queued)",
                "hub.yaml:10:24: commands.timeout_s: 0 is out of range; expected seconds in (0, 3600]",
                "hub.yaml:10:39: commands.max_queued: 0 is out of range; expected an integer from 1 to 10000",
            ]
        )
        #expect(
            problems("devices:\n" + device() + "    writable: { channel: x }\n") == [
                "hub.yaml:5:15: devices[0].writable: expected a list of writable channels ({channel:, type:, …}), found a mapping"
            ]
        )
    }

    // MARK: - Modbus register maps

    /// A modbus_device.lua device at /plant/m with these points (and device-level `writable`).
    private func modbus(_ points: String, writable: String? = nil) -> String {
        "devices:\n  - name: m\n    script: plugins/modbus_device.lua\n    prefix: /plant/m\n"
            + (writable.map {
                "    writable:\n" + $0.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n") + "\n"
            } ?? "")
            + "    params:\n      host: 127.0.0.1\n      points:\n"
            + points.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n") + "\n"
    }

    @Test func writablePointsAreTypedByTheRegisterMap() throws {
        let config = try load(
            modbus(
                """
                - { name: setpoint, table: holding, address: 0, type: f32, order: CDAB, writable: { min: 4, max: 12, timeout_s: 3 } }
                - { name: load_limit, table: holding, address: 2, scale: 0.1, writable: true }
                - { name: stages, table: holding, address: 3, writable: { max: 4 } }
                - { name: enable, table: coil, address: 0, writable: { rate_limit: { count: 1, per_s: 10 } } }
                - { name: mode, table: holding, address: 4, values: { 2: cool, 0: off, 1: fan }, writable: true }
                - { name: offset, table: holding, address: 5, type: i16, offset: -100, writable: false }
                - { name: spare, table: holding, address: 6 }
                """,
                writable: "- { channel: spare, type: integer, min: 0, max: 100 }"
            )
        )
        let channels = config.devices[0].writable
        let m = try ChannelPath("/plant/m")
        #expect(
            channels == [
                WritableChannel(
                    path: try m.resolving("spare"),
                    name: "spare",
                    kind: .integer,
                    minimum: 0,
                    maximum: 100
                ),
                WritableChannel(
                    path: try m.resolving("setpoint"),
                    name: "setpoint",
                    kind: .number,
                    minimum: 4,
                    maximum: 12,
                    timeoutSeconds: 3
                ),
                WritableChannel(
                    path: try m.resolving("load_limit"),
                    name: "load_limit",
                    kind: .number,
                    minimum: 0,
                    maximum: 6553.5
                ),
                WritableChannel(
                    path: try m.resolving("stages"),
                    name: "stages",
                    kind: .integer,
                    minimum: 0,
                    maximum: 4
                ),
                WritableChannel(
                    path: try m.resolving("enable"),
                    name: "enable",
                    kind: .boolean,
                    rateLimit: .init(count: 1, seconds: 10)
                ),
                WritableChannel(
                    path: try m.resolving("mode"),
                    name: "mode",
                    kind: .enumeration(["off", "fan", "cool"])
                ),
            ]
        )
    }

    @Test func onlyHoldingRegistersAndCoilsCanBeWrittenWithinWhatTheyHold() {
        #expect(
            problems(
                modbus(
                    """
                    - { name: a, table: input, address: 0, writable: true }
                    - { name: b, table: discrete, address: 0, writable: true }
                    - { name: c, table: holding, address: 1, writable: { min: -1, max: 70000 } }
                    - { name: d, table: holding, address: 2, type: i16, scale: 0.5, writable: { min: -20000 } }
                    - { name: e, table: coil, address: 1, writable: { min: 0 } }
                    - { name: f, table: holding, address: 3, writable: yes }
                    - { name: g, table: holding, address: 4, writable: { max: 2.5, colour: red } }
                    """
                )
            ) == [
                "hub.yaml:8:58: devices[0].params.points[0].writable: input registers are read-only; only holding registers and coils can be written",
                "hub.yaml:9:61: devices[0].params.points[1].writable: discrete inputs are read-only; only holding registers and coils can be written",
                "hub.yaml:10:67: devices[0].params.points[2].writable.min: -1 does not fit the register (u16): it holds 0 to 65535",
                "hub.yaml:10:76: devices[0].params.points[2].writable.max: 70000 does not fit the register (u16): it holds 0 to 65535",
                "hub.yaml:11:90: devices[0].params.points[3].writable.min: -20000 does not fit the register (i16 × 0.5): it holds -16384 to 16383.5",
                "hub.yaml:12:64: devices[0].params.points[4].writable.min: 'min' is for numeric registers; this point takes true or false",
                "hub.yaml:13:60: devices[0].params.points[5].writable: expected true or a mapping (min, max, rate_limit, timeout_s), found a string",
                "hub.yaml:14:72: devices[0].params.points[6].writable.colour: unknown key 'colour' (expected one of: min, max, rate_limit, timeout_s)",
                "hub.yaml:14:67: devices[0].params.points[6].writable.max: 2.5 is not an integer; the channel takes integers",
            ]
        )
        #expect(
            problems(
                modbus(
                    """
                    - { name: a, table: input, address: 0 }
                    - { name: h, table: coil, address: 2 }
                    - { name: i, table: holding, address: 5, values: { 0: off, 1: on } }
                    - { name: j, table: holding, address: 6, writable: true }
                    """,
                    writable: """
                        - { channel: nope, type: number }
                        - { channel: a, type: number }
                        - { channel: h, type: number }
                        - { channel: i, type: enum, values: [off, auto] }
                        - { channel: j, type: integer }
                        - { channel: h, type: boolean }
                        """
                )
            ) == [
                "hub.yaml:11:20: devices[0].writable[5].channel: channel 'h' is already declared by devices[0].writable[2]",
                "hub.yaml:6:20: devices[0].writable[0].channel: 'nope' is not a point of the register map; a modbus_device.lua device writes its points",
                "hub.yaml:7:20: devices[0].writable[1].channel: point 'a' is in the input table, which is read-only; only holding registers and coils can be written",
                "hub.yaml:8:20: devices[0].writable[2].channel: point 'h' (coil) takes boolean, not number",
                "hub.yaml:9:20: devices[0].writable[3].channel: point 'i' (holding u16) takes enum with values from off, on, not enum [off, auto]",
                "hub.yaml:10:20: devices[0].writable[4].channel: point 'j' is already marked writable in the register map",
            ]
        )
    }
}
