import Foundation
import PlenumCore
import Testing

@testable import PlenumDevices

/// Device scripts talking to a pseudo-terminal as if it were a serial sensor.
@Suite struct SerialPortTests {
    @Test func readsLinesAnswersAndReportsAVanishedPort() async throws {
        let pty = PseudoTerminal()
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("probe", script: "serial_probe.lua", params: .object(["port": .string(pty.slavePath)]))
        ])
        #expect(await hub.eventually { hub.value("/t/probe/state") == .string("open") })
        pty.write("T=21.4 RH=45.0\r\n")
        #expect(await hub.eventually { hub.value("/t/probe/line") == .string("T=21.4 RH=45.0") })
        pty.write("PING\n")
        #expect(pty.read(until: "PONG\n").contains("PONG\n"))
        pty.close()
        #expect(await hub.eventually { hub.value("/t/probe/state")?.stringValue?.hasPrefix("lost: ") == true })
        #expect(hub.value("/t/probe/state")?.stringValue?.contains("disconnected") == true)
        #expect(hub.status("probe")?["state"] == .string("running"))
    }

    /// The shipped serial_probe.lua: parsing, scaling, bad lines counted, and recovery when the
    /// device disappears and comes back.
    @Test func shippedProbeParsesCountsAndRecovers() async throws {
        let directory = NSTemporaryDirectory() + "plenum-serial-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let link = directory + "/ttyPROBE"
        var pty = PseudoTerminal()
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pty.slavePath)
        let hub = DeviceHarness()
        let params: JSONValue = .object([
            "port": .string(link), "baud": .integer(115_200), "timeout_s": .integer(30),
            "fields": .object([
                "T": .object(["channel": .string("temperature")]),
                "RH": .object(["channel": .string("humidity"), "scale": .double(0.01)]),
            ]),
        ])
        await hub.supervisor.apply([
            DeviceHarness.spec(
                "room",
                script: "serial_probe.lua",
                params: params,
                directory: ShippedPluginTests.plugins
            )
        ])
        #expect(await hub.eventually { hub.value("/t/room/health")?["state"] == .string("ok") })
        pty.write("T=21.4 RH=45.0\n")
        pty.write("garbage line\n")
        pty.write("T=22.0 RH=50\n")
        #expect(await hub.eventually { hub.value("/t/room/temperature") == .double(22.0) })
        #expect(hub.value("/t/room/humidity") == .double(0.5))
        #expect(await hub.eventually { hub.value("/t/room/health")?["lines_bad"] == .integer(1) })
        #expect(hub.value("/t/room/health")?["lines_ok"] == .integer(2))

        // Unplug: the port vanishes.
        pty.close()
        try FileManager.default.removeItem(atPath: link)
        #expect(await hub.eventually { hub.value("/t/room/health")?["state"] == .string("disconnected") })

        // Plug back in (a new device node behind the same path): the probe reopens by itself.
        pty = PseudoTerminal()
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pty.slavePath)
        #expect(await hub.eventually(timeout: 15) { hub.value("/t/room/health")?["state"] == .string("ok") })
        pty.write("T=19.5 RH=40\n")
        #expect(await hub.eventually { hub.value("/t/room/temperature") == .double(19.5) })
        #expect(hub.status("room")?["restarts"] == .integer(0))
        pty.close()
    }
}

/// Bytes, timeouts and paths at the serial boundary.
@Suite struct SerialBoundaryTests {
    /// A Modbus-RTU-like frame with a NUL and bytes ≥ 0x80 goes through unchanged both ways.
    @Test func aBinaryFrameIsReadAndWrittenUnchanged() async throws {
        let pty = PseudoTerminal()
        defer { pty.close() }
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("bin", script: "serial_bytes.lua", params: .object(["port": .string(pty.slavePath)]))
        ])
        #expect(await hub.eventually { hub.value("/t/bin/reasons") != nil })
        #expect(
            hub.value("/t/bin/reasons")
                == .array([
                    .string(
                        "bad argument #1 to 'read_line' (the duration is NaN; expected a number of seconds (math.huge for no limit))"
                    ),
                    .string(
                        "bad argument #2 to 'read' (the duration is NaN; expected a number of seconds (math.huge for no limit))"
                    ),
                    .string("bad argument #2 to 'read' (the duration -5.0 is negative; expected 0 or more seconds)"),
                    .string("bad argument #1 to 'read' (integer byte count expected)"),
                ])
        )
        let frame: [UInt8] = [0x00, 0xC5, 0xCD, 0xFF, 0x80]
        pty.write(bytes: frame)
        #expect(await hub.eventually { hub.value("/t/bin/frame") != nil })
        #expect(hub.value("/t/bin/frame") == .array(frame.map { .integer(Int64($0)) }))
        #expect(pty.read(count: 5) == frame)
        #expect(
            await hub.eventually {
                hub.value("/t/bin/publish_error")
                    == .string(
                        "hub.publish: cannot publish the value: string is not valid UTF-8 (JSON strings must be UTF-8; send binary data as a list of byte values)"
                    )
            }
        )
        #expect(hub.status("bin")?["state"] == .string("running"))
    }

    /// Only character devices are opened; everything else gets one message, so a script cannot
    /// tell which files exist.
    @Test func onlyCharacterDevicesAreOpenedAndOtherPathsLookAlike() async throws {
        let directory = NSTemporaryDirectory() + "plenum-open-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/file"
        let fifo = directory + "/fifo"
        _ = FileManager.default.createFile(atPath: file, contents: Data("secret".utf8))
        #expect(mkfifo(fifo, 0o600) == 0)
        let paths = [file, directory, fifo, directory + "/missing", "/root/.ssh/id_rsa", "/dev/null"]
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec(
                "open",
                script: "serial_open.lua",
                params: .object(["paths": .array(paths.map(JSONValue.string))])
            )
        ])
        #expect(await hub.eventually { hub.value("/t/open/said") != nil })
        guard case .array(let values)? = hub.value("/t/open/said") else { return }
        let said = values.compactMap(\.stringValue)
        #expect(
            said.dropLast() == paths.dropLast().map { "hub.serial.open: cannot open \($0): not a serial device" }[...]
        )
        #expect(said.last == "hub.serial.open: /dev/null is not a serial port: Inappropriate ioctl for device")
        // The file was never opened for writing: still intact.
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "secret")
    }

    /// hub.log shows text as is and other bytes as \xNN.
    @Test func logLinesShowBytesThatAreNotText() {
        #expect(DeviceContext.escaped([0x61, 0xFF, 0xC3, 0xA9, 0x00, 0x80, 0x7A]) == "a\\xFFé\u{0}\\x80z")
    }
}
