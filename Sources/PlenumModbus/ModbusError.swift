/// Why a Modbus request failed, as a person reads it and as a script tells cases apart.
///
/// `description` always starts with `modbus <kind>:` — `modbus exception: illegal data address
/// (read 2 holding registers at 9000, unit 1)`, `modbus timeout: no response within 1 s (tcp
/// 127.0.0.1:502, unit 1)` — so a script can match the kind with `err:match("modbus (%a+)")`.
public struct ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The device answered with an exception response.
        case exception(ModbusException)
        /// No (complete) response before the timeout.
        case timeout
        /// An RTU frame whose CRC does not match (line noise, wrong baud rate, two masters).
        case crc
        /// Could not connect, or the connection (or serial port) was lost.
        case connection
        /// The response is not a well-formed answer to the request.
        case invalidResponse
        /// Interrupted from another thread (the device is stopping); the client is unusable.
        case interrupted
        /// The client or server was closed.
        case closed
        /// A bad argument (address, count, value, option) — nothing was sent.
        case invalidArgument

        /// The word scripts match: exception, timeout, crc, connection, response, interrupted,
        /// closed, argument.
        public var name: String {
            switch self {
            case .exception: "exception"
            case .timeout: "timeout"
            case .crc: "crc"
            case .connection: "connection"
            case .invalidResponse: "response"
            case .interrupted: "interrupted"
            case .closed: "closed"
            case .invalidArgument: "argument"
            }
        }
    }

    public let kind: Kind
    /// What happened, with the request and the peer: `illegal data address (read 2 …)`.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "modbus \(kind.name): \(message)" }
}

/// An exception code from a Modbus exception response (function code | 0x80).
public struct ModbusException: Sendable, Equatable, CustomStringConvertible {
    public let code: UInt8

    public init(code: UInt8) { self.code = code }

    public static let illegalFunction = ModbusException(code: 0x01)
    public static let illegalDataAddress = ModbusException(code: 0x02)
    public static let illegalDataValue = ModbusException(code: 0x03)
    public static let slaveDeviceFailure = ModbusException(code: 0x04)
    public static let acknowledge = ModbusException(code: 0x05)
    public static let slaveDeviceBusy = ModbusException(code: 0x06)
    public static let negativeAcknowledge = ModbusException(code: 0x07)
    public static let memoryParityError = ModbusException(code: 0x08)
    public static let gatewayPathUnavailable = ModbusException(code: 0x0A)
    public static let gatewayTargetFailedToRespond = ModbusException(code: 0x0B)

    /// The name the Modbus specification gives it, lower case: `illegal data address`.
    public var name: String {
        switch code {
        case 0x01: "illegal function"
        case 0x02: "illegal data address"
        case 0x03: "illegal data value"
        case 0x04: "slave device failure"
        case 0x05: "acknowledge"
        case 0x06: "slave device busy"
        case 0x07: "negative acknowledge"
        case 0x08: "memory parity error"
        case 0x0A: "gateway path unavailable"
        case 0x0B: "gateway target device failed to respond"
        default: "exception code \(code)"
        }
    }

    public var description: String { name }
}
