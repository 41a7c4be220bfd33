import Foundation
import PlenumCore
import Testing

/// Device scripts talking to a pseudo-terminal as if it were a serial sensor.
@Suite struct SerialPortTests {
    @Test func readsLinesAnswersAndReportsAVanishedPort() throws {
        let pty = PseudoTerminal()
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec("probe", script: "serial_probe.lua", params: .object(["port": .string(pty.slavePath)]))
        ])
        #expect(hub.eventually { hub.value("/t/probe/state") == .string("open") })
        pty.write("T=21.4 RH=45.0\r\n")
        #expect(hub.eventually { hub.value("/t/probe/line") == .string("T=21.4 RH=45.0") })
        pty.write("PING\n")
        #expect(pty.read(until: "PONG\n").contains("PONG\n"))
        pty.close()
        #expect(hub.eventually { hub.value("/t/probe/state")?.stringValue?.hasPrefix("lost: ") == true })
        #expect(hub.value("/t/probe/state")?.stringValue?.contains("disconnected") == true)
        #expect(hub.status("probe")?["state"] == .string("running"))
    }

    /// The shipped serial_probe.lua: parsing, scaling, bad lines counted, and recovery when the
    /// device disappears and comes back.
    @Test func shippedProbeParsesCountsAndRecovers() throws {
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
        hub.supervisor.apply([
            DeviceHarness.spec(
                "room",
                script: "serial_probe.lua",
                params: params,
                directory: ShippedPluginTests.plugins
            )
        ])
        #expect(hub.eventually { hub.value("/t/room/health")?["state"] == .string("ok") })
        pty.write("T=21.4 RH=45.0\n")
        pty.write("garbage line\n")
        pty.write("T=22.0 RH=50\n")
        #expect(hub.eventually { hub.value("/t/room/temperature") == .double(22.0) })
        #expect(hub.value("/t/room/humidity") == .double(0.5))
        #expect(hub.eventually { hub.value("/t/room/health")?["lines_bad"] == .integer(1) })
        #expect(hub.value("/t/room/health")?["lines_ok"] == .integer(2))

        // Unplug: the port vanishes.
        pty.close()
        try FileManager.default.removeItem(atPath: link)
        #expect(hub.eventually { hub.value("/t/room/health")?["state"] == .string("disconnected") })

        // Plug back in (a new device node behind the same path): the probe reopens by itself.
        pty = PseudoTerminal()
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pty.slavePath)
        #expect(hub.eventually(timeout: 15) { hub.value("/t/room/health")?["state"] == .string("ok") })
        pty.write("T=19.5 RH=40\n")
        #expect(hub.eventually { hub.value("/t/room/temperature") == .double(19.5) })
        #expect(hub.status("room")?["restarts"] == .integer(0))
        pty.close()
    }
}
