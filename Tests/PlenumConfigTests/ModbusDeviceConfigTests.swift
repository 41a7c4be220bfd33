import Testing

@testable import PlenumConfig

/// Register maps of `modbus_device.lua` devices, refused at their line and column.
@Suite struct ModbusDeviceConfigTests {
    /// A modbus_device.lua device whose params are `params` (indented under `params:`).
    private func modbus(_ params: String) -> String {
        "devices:\n  - name: meter\n    script: plugins/modbus_device.lua\n    prefix: /plant/meter\n    params:\n"
            + params.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(
                separator: "\n"
            ) + "\n"
    }

    @Test func aValidTCPAndAValidRTUMapPass() {
        #expect(
            problems(
                modbus(
                    """
                    host: 10.0.0.5
                    port: 502
                    unit: 3
                    timeout: 0.5
                    points:
                      - { name: supply_temp, table: input, address: 0, type: f32, order: CDAB, unit: °C }
                      - { name: load_pct, table: holding, address: 6, scale: 0.1 }
                      - { name: pump/running, table: coil, address: 3, values: { true: on, false: off } }
                      - { name: status, table: input, address: 9, values: { 0: stopped, 1: running } }
                    """
                )
            ) == []
        )
        #expect(
            problems(
                modbus(
                    """
                    serial: /dev/ttyUSB0
                    baud: 19200
                    parity: even
                    unit: 17
                    points:
                      - { name: energy_kwh, table: holding, address: 100, type: u32, order: CDAB, poll_s: 60 }
                    """
                )
            ) == []
        )
    }

    @Test func eachMistakeInAPointIsLocated() {
        #expect(
            problems(
                modbus(
                    """
                    host: 10.0.0.5
                    points:
                      - { name: a, table: holding, address: 0, type: f31 }
                      - { name: b, table: holdings, address: 0 }
                      - { name: c, table: input, address: 70000 }
                      - { name: d, table: input, address: 65535, type: f32 }
                      - { name: e, table: coil, address: 1, type: f32 }
                      - { name: f, address: 1, order: ADCB, scale: 0 }
                      - { table: input, address: 1 }
                      - { name: g, address: 2 }
                      - { name: g, address: 3, colour: red }
                      - { name: g, address: 4 }
                      - { name: /abs, address: 4 }
                      - { name: h, poll_s: -1, address: 5 }
                    """
                )
            ) == [
                "hub.yaml:8:56: devices[0].params.points[0].type: 'f31' is not a register type; expected one of u16, i16, u32, i32, f32, u64, i64, f64",
                "hub.yaml:9:29: devices[0].params.points[1].table: 'holdings' is not a table; expected holding, input, coil or discrete",
                "hub.yaml:10:45: devices[0].params.points[2].address: 70000 is out of range; expected an integer from 0 to 65535",
                "hub.yaml:11:45: devices[0].params.points[3].address: a f32 at 65535 needs registers up to 65536, past 65535",
                "hub.yaml:12:53: devices[0].params.points[4].type: a coil is one bit; 'type' is for registers",
                "hub.yaml:13:41: devices[0].params.points[5].order: 'ADCB' is not a word order; expected ABCD, CDAB, BADC or DCBA",
                "hub.yaml:13:54: devices[0].params.points[5].scale: the scale must not be 0",
                "hub.yaml:14:11: devices[0].params.points[6]: missing required key 'name' (the channel under the device prefix)",
                "hub.yaml:16:34: devices[0].params.points[8].colour: unknown key 'colour' (expected one of: name, table, address, type, order, scale, offset, unit, poll_s, values, writable)",
                "hub.yaml:16:11: devices[0].params.points[8].name: point name 'g' is already used by points[7]; each point publishes its own channel",
                "hub.yaml:17:11: devices[0].params.points[9].name: point name 'g' is already used by points[7]; each point publishes its own channel",
                "hub.yaml:18:19: devices[0].params.points[10].name: '/abs' is not a relative channel path such as supply_temp or pumps/p1",
                "hub.yaml:19:30: devices[0].params.points[11].poll_s: -1 is out of range; expected seconds in (0, 86400]",
            ]
        )
    }

    @Test func transportMistakesAreLocated() {
        #expect(
            problems(modbus("port: 502\npoints: [{ name: a, address: 0 }]")) == [
                "hub.yaml:6:7: devices[0].params: missing 'host' (Modbus TCP) or 'serial' (Modbus RTU)"
            ]
        )
        #expect(
            problems(modbus("host: 10.0.0.5\nserial: /dev/ttyS0\npoints: [{ name: a, address: 0 }]")) == [
                "hub.yaml:6:7: devices[0].params: give either 'host' (Modbus TCP) or 'serial' (Modbus RTU), not both"
            ]
        )
        #expect(
            problems(modbus("serial: /dev/ttyS0\nbaud: 9601\nparity: mark\nunit: 0\npoints: [{ name: a, address: 0 }]"))
                == [
                    "hub.yaml:7:13: devices[0].params.baud: 9601 is not a supported baud rate; expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600",
                    "hub.yaml:8:15: devices[0].params.parity: 'mark' is not a parity; expected none, even or odd",
                    "hub.yaml:9:13: devices[0].params.unit: 0 is out of range; expected an integer from 1 to 247",
                ]
        )
        #expect(
            problems(modbus("host: 10.0.0.5\ntimeout: .nan\npoints: []")) == [
                "hub.yaml:7:16: devices[0].params.timeout: .nan cannot be a parameter value; JSON has no infinity or NaN",
                "hub.yaml:7:16: devices[0].params.timeout: expected a number, found a number (.nan)",
                "hub.yaml:8:15: devices[0].params.points: expected a non-empty list of points ({name:, table:, address:, …}), found a list",
            ]
        )
        #expect(
            problems(
                "devices:\n  - name: meter\n    script: plugins/modbus_device.lua\n    prefix: /plant/meter\n"
            ) == [
                "hub.yaml:2:5: devices[0].params: modbus_device.lua needs params with 'host' or 'serial' and 'points'"
            ]
        )
    }
}
