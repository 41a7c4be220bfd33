/// One Modbus request as a PDU (function code and data, without unit id, header or CRC), and
/// the parsing of its response PDU. Pure: framing, CRC and the wire are libmodbus's.
struct ModbusRequest: Sendable, Equatable {
    enum Function: UInt8, Sendable {
        case readCoils = 0x01
        case readDiscreteInputs = 0x02
        case readHoldingRegisters = 0x03
        case readInputRegisters = 0x04
        case writeSingleCoil = 0x05
        case writeSingleRegister = 0x06
        case writeMultipleRegisters = 0x10

        var noun: String {
            switch self {
            case .readCoils, .writeSingleCoil: "coil"
            case .readDiscreteInputs: "discrete input"
            case .readHoldingRegisters, .writeSingleRegister, .writeMultipleRegisters: "holding register"
            case .readInputRegisters: "input register"
            }
        }
    }

    /// What a successful response carries.
    enum Payload: Sendable, Equatable {
        case registers([UInt16])
        case bits([Bool])
        case written
    }

    static let maxReadRegisters = 125
    static let maxReadBits = 2_000
    static let maxWriteRegisters = 123

    let function: Function
    let address: Int
    let count: Int
    /// The PDU sent: function code and data.
    let pdu: [UInt8]

    private init(_ function: Function, address: Int, count: Int, data: [UInt8]) {
        self.function = function
        self.address = address
        self.count = count
        pdu = [function.rawValue, UInt8(address >> 8), UInt8(address & 0xFF)] + data
    }

    // MARK: - Building (arguments validated here, before anything is sent)

    static func read(_ function: Function, address: Int, count: Int) throws(ModbusError) -> ModbusRequest {
        let isBits = function == .readCoils || function == .readDiscreteInputs
        let limit = isBits ? maxReadBits : maxReadRegisters
        try checkAddress(address)
        guard (1...limit).contains(count) else {
            throw ModbusError(.invalidArgument, "count \(count) is out of range; expected 1…\(limit)")
        }
        try checkSpan(address, count)
        return ModbusRequest(function, address: address, count: count, data: [UInt8(count >> 8), UInt8(count & 0xFF)])
    }

    static func writeRegister(address: Int, value: Int) throws(ModbusError) -> ModbusRequest {
        try checkAddress(address)
        try checkRegister(value, "value")
        return ModbusRequest(
            .writeSingleRegister,
            address: address,
            count: 1,
            data: [UInt8(value >> 8), UInt8(value & 0xFF)]
        )
    }

    static func writeRegisters(address: Int, values: [Int]) throws(ModbusError) -> ModbusRequest {
        try checkAddress(address)
        guard (1...maxWriteRegisters).contains(values.count) else {
            throw ModbusError(
                .invalidArgument,
                "\(values.count) values; expected 1…\(maxWriteRegisters) registers in one write"
            )
        }
        try checkSpan(address, values.count)
        var data = [UInt8(values.count >> 8), UInt8(values.count & 0xFF), UInt8(values.count * 2)]
        for (index, value) in values.enumerated() {
            try checkRegister(value, "values[\(index + 1)]")
            data += [UInt8(value >> 8), UInt8(value & 0xFF)]
        }
        return ModbusRequest(.writeMultipleRegisters, address: address, count: values.count, data: data)
    }

    static func writeCoil(address: Int, on: Bool) throws(ModbusError) -> ModbusRequest {
        try checkAddress(address)
        return ModbusRequest(.writeSingleCoil, address: address, count: 1, data: [on ? 0xFF : 0x00, 0x00])
    }

    private static func checkAddress(_ address: Int) throws(ModbusError) {
        guard (0...65_535).contains(address) else {
            throw ModbusError(.invalidArgument, "address \(address) is out of range; expected 0…65535")
        }
    }

    private static func checkSpan(_ address: Int, _ count: Int) throws(ModbusError) {
        guard address + count <= 65_536 else {
            throw ModbusError(
                .invalidArgument,
                "address \(address) + count \(count) runs past the last address (65535)"
            )
        }
    }

    private static func checkRegister(_ value: Int, _ name: String) throws(ModbusError) {
        guard (0...65_535).contains(value) else {
            throw ModbusError(
                .invalidArgument,
                "\(name) \(value) does not fit a register; expected 0…65535 (encode signed values first)"
            )
        }
    }

    /// `read 2 holding registers at 9000`, for messages.
    var summary: String {
        switch function {
        case .readCoils, .readDiscreteInputs, .readHoldingRegisters, .readInputRegisters:
            "read \(count) \(function.noun)\(count == 1 ? "" : "s") at \(address)"
        case .writeSingleCoil, .writeSingleRegister:
            "write \(function.noun) \(address)"
        case .writeMultipleRegisters:
            "write \(count) holding registers at \(address)"
        }
    }

    // MARK: - Parsing the response

    /// The response PDU (function code first) checked against this request.
    func parse(_ response: ArraySlice<UInt8>) throws(ModbusError) -> Payload {
        guard let code = response.first else { throw invalid("empty response") }
        if code == function.rawValue | 0x80 {
            guard response.count >= 2 else { throw invalid("exception response without a code") }
            let exception = ModbusException(code: response[response.startIndex + 1])
            throw ModbusError(.exception(exception), "\(exception.name) (\(summary))")
        }
        guard code == function.rawValue else {
            throw invalid("function code \(code) in the response to function \(function.rawValue)")
        }
        let body = response.dropFirst()
        switch function {
        case .readHoldingRegisters, .readInputRegisters:
            guard body.first.map(Int.init) == count * 2, body.count == 1 + count * 2 else {
                throw invalid("expected \(count * 2) data bytes, got \(max(0, body.count - 1))")
            }
            var registers: [UInt16] = []
            registers.reserveCapacity(count)
            var index = body.startIndex + 1
            while index < body.endIndex {
                registers.append(UInt16(body[index]) << 8 | UInt16(body[index + 1]))
                index += 2
            }
            return .registers(registers)
        case .readCoils, .readDiscreteInputs:
            let bytes = (count + 7) / 8
            guard body.first.map(Int.init) == bytes, body.count == 1 + bytes else {
                throw invalid("expected \(bytes) data bytes, got \(max(0, body.count - 1))")
            }
            let data = body.dropFirst()
            return .bits(
                (0..<count).map { bit in data[data.startIndex + bit / 8] & (1 << UInt8(bit % 8)) != 0 }
            )
        case .writeSingleCoil, .writeSingleRegister:
            guard Array(body) == Array(pdu.dropFirst()) else { throw invalid("the write was not echoed") }
            return .written
        case .writeMultipleRegisters:
            guard Array(body) == Array(pdu[1..<5]) else { throw invalid("the write was not acknowledged") }
            return .written
        }
    }

    private func invalid(_ what: String) -> ModbusError {
        ModbusError(.invalidResponse, "\(what) (\(summary))")
    }
}
