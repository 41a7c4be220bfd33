import Foundation
import PlenumModbus
import Testing

/// libmodbus waits with select(2), which aborts the process for a descriptor at or above
/// FD_SETSIZE (1024). A hub with a thousand clients has nothing lower free: the soak test saw the
/// hub killed by its own Modbus simulator ("bit out of range 0 - FD_SETSIZE on fd_set") the first
/// time a Modbus connection was made then. Client and server must keep working (docs/reliability.md,
/// "Soak").
@Suite(.serialized) struct ModbusDescriptorTests {
    @Test func aModbusExchangeWorksWhenEveryDescriptorBelowFDSetSizeIsTaken() throws {
        var configuration = ModbusServer.Configuration()
        configuration.port = 0
        // Created while low descriptors are free, as a device starts before clients connect.
        let server = try ModbusServer(configuration)
        defer { server.stop() }
        try server.setRegisters(.inputRegisters, at: 0, [7, 8, 9])
        let client = try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: server.port), timeout: 2))

        // Take every free number below 1024, and a few above, as a thousand clients would.
        var filler: [Int32] = []
        defer { for fd in filler { close(fd) } }
        while filler.count < 2_000 {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { break }
            filler.append(fd)
            if fd > 1_050 { break }
        }
        #expect((filler.last ?? 0) > 1_050, "the test needs RLIMIT_NOFILE above 1,050")

        // Both sockets of this connection would land above FD_SETSIZE.
        #expect(try client.readInputRegisters(at: 0, count: 3) == [7, 8, 9])
        client.close()
        let second = try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: server.port), timeout: 2))
        #expect(try second.readInputRegisters(at: 1, count: 2) == [8, 9])
        second.close()
        #expect(server.requestsServed == 2)
    }
}
