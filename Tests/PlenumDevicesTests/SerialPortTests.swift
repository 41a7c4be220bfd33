import Foundation
import PlenumCore
import Testing

/// A device script talking to a pseudo-terminal as if it were a serial sensor.
@Suite struct SerialPortTests {
    @Test func readsLinesAnswersAndReportsAVanishedPort() throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        #expect(openpty(&master, &slave, &name, nil, nil) == 0)
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        close(slave)
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec("probe", script: "serial_probe.lua", params: .object(["port": .string(slavePath)]))
        ])
        #expect(hub.eventually { hub.value("/t/probe/state") == .string("open") })
        let write: (String) -> Void = { text in _ = text.withCString { Glibc.write(master, $0, strlen($0)) } }
        write("T=21.4 RH=45.0\r\n")
        #expect(hub.eventually { hub.value("/t/probe/line") == .string("T=21.4 RH=45.0") })
        write("PING\n")
        var reply = [UInt8](repeating: 0, count: 64)
        var received = ""
        let deadline = Date().addingTimeInterval(5)
        while !received.contains("PONG\n") && Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                let n = read(master, &reply, reply.count)
                if n > 0 { received += String(decoding: reply[0..<n], as: UTF8.self) }
            }
        }
        #expect(received.contains("PONG\n"))
        close(master)
        #expect(hub.eventually { hub.value("/t/probe/state")?.stringValue?.hasPrefix("lost: ") == true })
        #expect(hub.value("/t/probe/state")?.stringValue?.contains("disconnected") == true)
        #expect(hub.status("probe")?["state"] == .string("running"))
    }
}
