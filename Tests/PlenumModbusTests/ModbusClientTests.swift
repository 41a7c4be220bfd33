import Foundation
import PlenumCore
import PlenumModbus
import PlenumTestSupport
import Testing

/// The client against a real Modbus TCP device: pymodbus in a child process.
@Suite(.serialized) struct ModbusClientTests {
    private func client(_ port: Int, timeout: Double = 2) throws -> ModbusClient {
        try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: port), unit: 1, timeout: timeout))
    }

    private func format(_ vector: ModbusPeer.Vector) throws -> RegisterFormat {
        RegisterFormat(
            try #require(RegisterFormat.ValueType(rawValue: vector.type)),
            order: try #require(RegisterFormat.ByteOrder(rawValue: vector.order))
        )
    }

    @Test func readsEveryTypeInEveryOrderFromHoldingAndInputRegisters() throws {
        let peer = try ModbusPeer.tcp()
        let client = try client(peer.port)
        #expect(peer.vectors.count == 32)
        for vector in peer.vectors {
            let holding = try client.readHoldingRegisters(at: vector.address, count: vector.registers.count)
            let input = try client.readInputRegisters(at: vector.address, count: vector.registers.count)
            #expect(holding.map(Int.init) == vector.registers, "\(vector.type) \(vector.order)")
            #expect(input == holding)
            let decoded = try RegisterCodec.decode(holding, as: format(vector))
            switch (decoded, vector.value) {
            case (.integer(let got), .integer(let want)): #expect(got == want, "\(vector.type) \(vector.order)")
            case (let got, let want) where vector.type == "f32":
                #expect(Float(got.doubleValue) == want.numberValue.map { Float($0) }, "\(vector.order)")
            case (let got, let want):
                #expect(got.doubleValue == want.numberValue, "\(vector.type) \(vector.order)")
            }
        }
        // The whole map in one request, the largest a read may be.
        #expect(try client.readHoldingRegisters(at: 100, count: 125).count == 125)
    }

    @Test func readsCoilsAndDiscreteInputs() throws {
        let peer = try ModbusPeer.tcp()
        let client = try client(peer.port)
        #expect(
            try client.readCoils(at: 0, count: 16)
                == [
                    true, false, true, true, false, false, false, true, false, true, false, false, true, true, true,
                    false,
                ]
        )
        #expect(try client.readDiscreteInputs(at: 3, count: 6) == [false, true, false, false, false, true])
    }

    @Test func writesArriveAtThePeerAndReadBack() throws {
        let peer = try ModbusPeer.tcp()
        let client = try client(peer.port)
        try client.writeRegister(at: 100, value: 0xBEEF)
        try client.writeRegisters(at: 101, values: [1, 2, 65_535])
        try client.writeCoil(at: 4, on: true)
        #expect(peer.waitForWrite { $0.function == 6 && $0.address == 100 && $0.values == [.integer(48_879)] })
        #expect(
            peer.waitForWrite {
                $0.function == 16 && $0.address == 101 && $0.values == [.integer(1), .integer(2), .integer(65_535)]
            }
        )
        #expect(peer.waitForWrite { $0.function == 5 && $0.address == 4 && $0.values == [.bool(true)] })
        #expect(try client.readHoldingRegisters(at: 100, count: 4) == [0xBEEF, 1, 2, 65_535])
        #expect(try client.readCoils(at: 4, count: 1) == [true])
    }

    @Test func exceptionResponsesNameTheException() throws {
        let peer = try ModbusPeer.tcp()
        let client = try client(peer.port)
        let address = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 5_000, count: 2) }
        #expect(address?.kind == .exception(.illegalDataAddress))
        #expect(
            address?.description
                == "modbus exception: illegal data address (read 2 holding registers at 5000) (tcp 127.0.0.1:\(peer.port), unit 1)"
        )
        let busy = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 900, count: 1) }
        #expect(busy?.kind == .exception(.slaveDeviceBusy))
        #expect(busy?.description.hasPrefix("modbus exception: slave device busy") == true)
        // An exception leaves the connection usable.
        #expect(try client.readHoldingRegisters(at: 0, count: 1) == [0xBEEF])
    }

    @Test func argumentsAreValidatedBeforeAnythingIsSent() throws {
        let client = try client(1)
        for (address, count) in [(0, 0), (0, 126), (-1, 1), (65_536, 1), (65_500, 100)] {
            let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: address, count: count) }
            #expect(error?.kind == .invalidArgument, "\(address) \(count)")
        }
        #expect(throws: ModbusError.self) { try client.readCoils(at: 0, count: 2_001) }
        #expect(throws: ModbusError.self) { try client.writeRegister(at: 0, value: 65_536) }
        #expect(throws: ModbusError.self) { try client.writeRegisters(at: 0, values: Array(repeating: 1, count: 124)) }
        for timeout in [Double.nan, -1, 0] {
            #expect(throws: ModbusError.self) {
                try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: 502), timeout: timeout))
            }
        }
        #expect(throws: ModbusError.self) { try ModbusClient(.init(endpoint: .tcp(host: "127.0.0.1", port: 0))) }
        #expect(throws: ModbusError.self) {
            try ModbusClient(
                .init(endpoint: .rtu(path: "/dev/null", baud: 9_601, parity: .none, dataBits: 8, stopBits: 1))
            )
        }
    }

    @Test func aLostPeerIsReportedAndTheClientReconnectsByItself() throws {
        let peer = try ModbusPeer.tcp()
        let client = try client(peer.port, timeout: 0.5)
        #expect(try client.readHoldingRegisters(at: 0, count: 1) == [0xBEEF])
        peer.kill()
        let lost = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 1) }
        #expect(lost?.kind == .connection || lost?.kind == .timeout)
        let refused = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 1) }
        #expect(refused?.kind == .connection)
        #expect(refused?.message.hasPrefix("cannot connect: Connection refused") == true)
        try peer.restart()
        #expect(try client.readHoldingRegisters(at: 0, count: 1) == [0xBEEF])
    }

    @Test func aSilentPeerTimesOut() throws {
        let silent = try SilentListener()
        let client = try client(silent.port, timeout: 0.2)
        let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 1) }
        #expect(error?.kind == .timeout)
        #expect(error?.message.hasPrefix("no response within 0.2 s (read 1 holding register at 0)") == true)
    }

    @Test func anotherThreadInterruptsABlockedCall() throws {
        let silent = try SilentListener()
        let client = try client(silent.port, timeout: 60)
        let interrupter = client.interrupter
        Thread.detachNewThread {
            usleep(100_000)
            interrupter.interrupt()
        }
        let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 1) }
        #expect(error?.kind == .interrupted)
        // Interrupted for good: the next call does not block either.
        #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 1) }
        #expect(!client.isConnected)
    }
}
