/// Where a Modbus device is: a TCP host and port, or a serial line (RTU).
public enum ModbusEndpoint: Sendable, Equatable, CustomStringConvertible {
    public enum Parity: String, Sendable, CaseIterable {
        case none, even, odd

        /// libmodbus's letter.
        var letter: UInt8 {
            switch self {
            case .none: UInt8(ascii: "N")
            case .even: UInt8(ascii: "E")
            case .odd: UInt8(ascii: "O")
            }
        }
    }

    case tcp(host: String, port: Int)
    case rtu(path: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int)

    /// Baud rates libmodbus maps to a termios speed (others it would silently replace by 9600).
    public static let baudRates = [
        1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
    ]

    public var description: String {
        switch self {
        case .tcp(let host, let port): "tcp \(host):\(port)"
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            "rtu \(path) \(baud) \(dataBits)\(Character(Unicode.Scalar(parity.letter)))\(stopBits)"
        }
    }

    /// Checks every field; the message names the field as scripts and hub.yaml spell it.
    func validate() throws(ModbusError) {
        switch self {
        case .tcp(let host, let port):
            guard !host.isEmpty, !host.utf8.contains(0) else {
                throw ModbusError(.invalidArgument, "host must be a non-empty host name or address")
            }
            guard (1...65_535).contains(port) else {
                throw ModbusError(.invalidArgument, "port \(port) is out of range; expected 1…65535")
            }
        case .rtu(let path, let baud, _, let dataBits, let stopBits):
            guard !path.isEmpty, !path.utf8.contains(0) else {
                throw ModbusError(.invalidArgument, "port must be a serial device path such as /dev/ttyUSB0")
            }
            guard Self.baudRates.contains(baud) else {
                throw ModbusError(
                    .invalidArgument,
                    "baud \(baud) is not supported; expected one of \(Self.baudRates.map(String.init).joined(separator: ", "))"
                )
            }
            guard (5...8).contains(dataBits) else {
                throw ModbusError(.invalidArgument, "data_bits \(dataBits) is out of range; expected 5…8")
            }
            guard stopBits == 1 || stopBits == 2 else {
                throw ModbusError(.invalidArgument, "stop_bits \(stopBits) must be 1 or 2")
            }
        }
    }

    var isSerial: Bool {
        if case .rtu = self { return true }
        return false
    }
}
