import Foundation
import PlenumModbus
import PlenumTestSupport
import Testing

/// `ModbusServer` as a device: read by our client and by pymodbus's, written by both.
@Suite(.serialized) struct ModbusServerTests {
    private func server(maxConnections: Int = 8) throws -> ModbusServer {
        var configuration = ModbusServer.Configuration()
        configuration.port = 0
        configuration.unit = 3
        configuration.holdingRegisters = 200
        configuration.maxConnections = maxConnections
        return try ModbusServer(configuration)
    }

    private func client(_ port: Int, unit: Int = 3) throws -> ModbusClient {
        try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: port), unit: unit, timeout: 2))
    }

    @Test func servesWhatItsOwnerWritesAndKeepsWhatClientsWrite() throws {
        let server = try server()
        defer { server.stop() }
        try server.setRegisters(.holdingRegisters, at: 10, RegisterCodec.encode(.double(42.4242), as: .init(.f32)))
        try server.setRegisters(.inputRegisters, at: 0, [1, 2, 3])
        try server.setBits(.discreteInputs, at: 5, [true, false, true])
        let client = try client(server.port)
        #expect(try client.readHoldingRegisters(at: 10, count: 2) == [0x4229, 0xB261])
        #expect(try client.readInputRegisters(at: 0, count: 3) == [1, 2, 3])
        #expect(try client.readDiscreteInputs(at: 5, count: 3) == [true, false, true])
        try client.writeRegisters(at: 20, values: [0xDEAD, 0xBEEF])
        try client.writeCoil(at: 7, on: true)
        #expect(try server.registers(.holdingRegisters, at: 20, count: 2) == [0xDEAD, 0xBEEF])
        #expect(try server.bits(.coils, at: 6, count: 2) == [false, true])
        #expect(server.requestsServed == 5)
    }

    @Test func outsideTheTableIsIllegalDataAddressAndAnotherUnitIsRefused() throws {
        let server = try server()
        defer { server.stop() }
        let client = try client(server.port)
        let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 199, count: 2) }
        #expect(error?.kind == .exception(.illegalDataAddress))
        let other = try self.client(server.port, unit: 9)
        let refused = #expect(throws: ModbusError.self) { try other.readHoldingRegisters(at: 0, count: 1) }
        #expect(refused?.kind == .exception(.gatewayTargetFailedToRespond))
        #expect(throws: ModbusError.self) { try server.setRegisters(.holdingRegisters, at: 199, [1, 2]) }
        #expect(throws: ModbusError.self) { try server.setRegisters(.coils, at: 0, [1]) }
    }

    @Test func connectionsBeyondTheLimitAreClosed() throws {
        let server = try server(maxConnections: 2)
        defer { server.stop() }
        let first = try client(server.port)
        let second = try client(server.port)
        #expect(try first.readHoldingRegisters(at: 0, count: 1) == [0])
        #expect(try second.readHoldingRegisters(at: 0, count: 1) == [0])
        let third = try client(server.port)
        let error = #expect(throws: ModbusError.self) { try third.readHoldingRegisters(at: 0, count: 1) }
        #expect(error?.kind == .connection)
        first.close()
        // A slot is free again once the server has seen the first client go.
        var answered = false
        for _ in 0..<50 where !answered {
            answered = (try? third.readHoldingRegisters(at: 0, count: 1)) == [0]
            if !answered { usleep(20_000) }
        }
        #expect(answered)
    }

    @Test func aStoppedServerRefusesConnections() throws {
        let server = try server()
        let port = server.port
        server.stop()
        let error = #expect(throws: ModbusError.self) { try client(port).readHoldingRegisters(at: 0, count: 1) }
        #expect(error?.kind == .connection)
    }
}
