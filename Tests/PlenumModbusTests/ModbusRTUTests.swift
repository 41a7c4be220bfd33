import Foundation
import PlenumModbus
import PlenumTestSupport
import Testing

/// The client over Modbus RTU: a socat pty pair as the serial cable, pymodbus's serial server
/// as the device.
@Suite(.serialized) struct ModbusRTUTests {
    private func client(_ link: SerialLink, timeout: Double = 2) throws -> ModbusClient {
        try ModbusClient(
            .init(
                endpoint: .rtu(path: link.hubSide, baud: 9_600, parity: .none, dataBits: 8, stopBits: 1),
                unit: 1,
                timeout: timeout
            )
        )
    }

    @Test func readsEveryKindAndTypeOverASerialLine() throws {
        let link = try SerialLink()
        let peer = try ModbusPeer.rtu(path: link.deviceSide)
        let client = try client(link)
        for vector in peer.vectors {
            let words = try client.readHoldingRegisters(at: vector.address, count: vector.registers.count)
            #expect(words.map(Int.init) == vector.registers, "\(vector.type) \(vector.order)")
            let format = RegisterFormat(
                try #require(RegisterFormat.ValueType(rawValue: vector.type)),
                order: try #require(RegisterFormat.ByteOrder(rawValue: vector.order))
            )
            let decoded = try RegisterCodec.decode(words, as: format).doubleValue
            #expect(Float(decoded) == vector.value.numberValue.map { Float($0) })
        }
        #expect(try client.readInputRegisters(at: 0, count: 80).count == 80)
        #expect(try client.readCoils(at: 0, count: 4) == [true, false, true, true])
        #expect(try client.readDiscreteInputs(at: 0, count: 4) == [false, true, true, false])
        try client.writeRegisters(at: 110, values: [7, 8])
        #expect(peer.waitForWrite { $0.function == 16 && $0.address == 110 })
        #expect(try client.readHoldingRegisters(at: 110, count: 2) == [7, 8])
        let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 5_000, count: 1) }
        #expect(error?.kind == .exception(.illegalDataAddress))
    }

    @Test func aCorruptedCRCIsAClearErrorAndTheNextPollIsFine() throws {
        let link = try SerialLink()
        let peer = try ModbusPeer.rtu(path: link.deviceSide)
        defer { withExtendedLifetime(peer) {} }
        let client = try client(link)
        let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 950, count: 2) }
        #expect(error?.kind == .crc)
        #expect(
            error?.description
                == "modbus crc: CRC error in the response (read 2 holding registers at 950) (rtu \(link.hubSide) 9600 8N1, unit 1)"
        )
        #expect(try client.readHoldingRegisters(at: 0, count: 1) == [0xBEEF])
    }

    @Test func aMissingSerialPortIsAConnectionError() throws {
        let client = try ModbusClient(
            .init(endpoint: .rtu(path: "/nonexistent/ttyUSB9", baud: 19_200, parity: .even, dataBits: 8, stopBits: 1))
        )
        let error = #expect(throws: ModbusError.self) { try client.readHoldingRegisters(at: 0, count: 1) }
        #expect(error?.kind == .connection)
        #expect(error?.message.contains("No such file or directory") == true)
    }
}
