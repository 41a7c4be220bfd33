internal import CModbus
import Glibc
import PlenumCore

/// A blocking Modbus TCP or RTU client (libmodbus underneath), owned by one thread.
///
/// - Connects lazily on the first call, and again on the next call after the connection was
///   lost or a response timed out (a TCP connection is dropped after a timeout so that a late
///   answer can never be taken for the next request's; an RTU line is flushed instead).
/// - Every call waits at most `timeout` seconds. The wait for a response to begin is a `poll`
///   on the connection and on `interrupter`, so another thread can end it at once (see
///   `ModbusInterrupter`). Once the first bytes of a response have arrived, libmodbus reads the
///   rest of the frame, which must complete within `frameBound` (0.5 s, longer only for serial
///   lines slower than 9600 baud): that is the longest a call can keep running after an
///   interrupt. Name resolution of a TCP host (`getaddrinfo`) cannot be interrupted either;
///   use addresses, not names, for devices that must stop promptly.
/// - Errors are `ModbusError`s naming the exception, the timeout, the CRC error or the lost
///   connection, with the request and the endpoint.
///
/// Not `Sendable`: only `interrupter` crosses threads.
public final class ModbusClient {
    public struct Configuration: Sendable, Equatable {
        public var endpoint: ModbusEndpoint
        /// Unit (slave) id: 0…255 over TCP, 1…247 on a serial line.
        public var unit: Int
        /// Seconds a call may take (connecting included); > 0, +∞ for no limit.
        public var timeout: Double

        public init(endpoint: ModbusEndpoint, unit: Int = 1, timeout: Double = 1) {
            self.endpoint = endpoint
            self.unit = unit
            self.timeout = timeout
        }
    }

    public let configuration: Configuration
    public let interrupter: ModbusInterrupter
    private let context: OpaquePointer
    private var connected = false
    private var closed = false
    /// The serial line may hold the rest of a failed exchange; discard it before the next request.
    private var needsFlush = false
    private var response = [UInt8](repeating: 0, count: 260)
    /// The longest libmodbus may take to read a frame once it has begun, in seconds.
    let frameBound: Double

    public init(_ configuration: Configuration, interrupter: ModbusInterrupter? = nil) throws(ModbusError) {
        try configuration.endpoint.validate()
        let unitRange = configuration.endpoint.isSerial ? 1...247 : 0...255
        guard unitRange.contains(configuration.unit) else {
            throw ModbusError(
                .invalidArgument,
                "unit \(configuration.unit) is out of range; expected \(unitRange.lowerBound)…\(unitRange.upperBound)"
            )
        }
        do throws(Deadline.Problem) {
            _ = try Deadline.now().adding(seconds: configuration.timeout)
        } catch {
            throw ModbusError(.invalidArgument, "timeout: \(error)")
        }
        guard configuration.timeout > 0 else {
            throw ModbusError(.invalidArgument, "timeout must be more than 0 seconds")
        }
        let interrupter = try Self.interrupter(interrupter)
        let made: OpaquePointer?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            made = modbus_new_tcp_pi(host, String(port))
            frameBound = 0.5
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            made = modbus_new_rtu(path, Int32(baud), CChar(bitPattern: parity.letter), Int32(dataBits), Int32(stopBits))
            // Two maximum-size frames at 11 bits a character.
            frameBound = max(0.5, 2 * 256 * 11 / Double(baud))
        }
        guard let made else {
            throw ModbusError(
                .invalidArgument,
                "cannot create a client for \(configuration.endpoint): \(SystemError("modbus_new"))"
            )
        }
        if configuration.endpoint.isSerial, modbus_set_slave(made, Int32(configuration.unit)) != 0 {
            modbus_free(made)
            throw ModbusError(.invalidArgument, "unit \(configuration.unit) refused by libmodbus")
        }
        // Byte timeout off: the frame-wide response timeout set before each read bounds a frame.
        modbus_set_byte_timeout(made, 0, 0)
        // Reserve the low descriptors libmodbus needs while they are free (see LowDescriptors).
        _ = LowDescriptors.shared
        context = made
        self.configuration = configuration
        self.interrupter = interrupter
    }

    private static func interrupter(_ given: ModbusInterrupter?) throws(ModbusError) -> ModbusInterrupter {
        if let given { return given }
        return try ModbusInterrupter()
    }

    deinit {
        disconnect()
        modbus_free(context)
    }

    /// Closes the connection; later calls fail with `.closed`.
    public func close() {
        disconnect()
        closed = true
    }

    public var isConnected: Bool { connected }

    // MARK: - Requests

    public func readHoldingRegisters(at address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        try registers(perform(.read(.readHoldingRegisters, address: address, count: count)))
    }

    public func readInputRegisters(at address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        try registers(perform(.read(.readInputRegisters, address: address, count: count)))
    }

    public func readCoils(at address: Int, count: Int) throws(ModbusError) -> [Bool] {
        try bits(perform(.read(.readCoils, address: address, count: count)))
    }

    public func readDiscreteInputs(at address: Int, count: Int) throws(ModbusError) -> [Bool] {
        try bits(perform(.read(.readDiscreteInputs, address: address, count: count)))
    }

    public func writeRegister(at address: Int, value: Int) throws(ModbusError) {
        _ = try perform(.writeRegister(address: address, value: value))
    }

    public func writeRegisters(at address: Int, values: [Int]) throws(ModbusError) {
        _ = try perform(.writeRegisters(address: address, values: values))
    }

    public func writeCoil(at address: Int, on: Bool) throws(ModbusError) {
        _ = try perform(.writeCoil(address: address, on: on))
    }

    private func registers(_ payload: ModbusRequest.Payload) throws(ModbusError) -> [UInt16] {
        guard case .registers(let values) = payload else { throw ModbusError(.invalidResponse, "expected registers") }
        return values
    }

    private func bits(_ payload: ModbusRequest.Payload) throws(ModbusError) -> [Bool] {
        guard case .bits(let values) = payload else { throw ModbusError(.invalidResponse, "expected bits") }
        return values
    }

    /// `(tcp 127.0.0.1:502, unit 1)`, appended to messages.
    private var peer: String { "(\(configuration.endpoint), unit \(configuration.unit))" }

    /// One request–response exchange.
    func perform(_ request: ModbusRequest) throws(ModbusError) -> ModbusRequest.Payload {
        guard !closed else { throw ModbusError(.closed, "the connection was closed \(peer)") }
        guard !interrupter.isInterrupted else { throw ModbusError(.interrupted, "the device is stopping \(peer)") }
        let deadline = (try? Deadline.now().adding(seconds: configuration.timeout)) ?? .never
        if !connected { try connect(until: deadline) }
        if needsFlush {
            modbus_flush(context)
            needsFlush = false
        }
        let raw = [UInt8(configuration.unit)] + request.pdu
        guard modbus_send_raw_request(context, raw, Int32(raw.count)) == Int32(raw.count) + headerAndChecksum else {
            let error = SystemError("send")
            disconnect()
            throw ModbusError(.connection, "connection lost: \(error.reason) \(peer)")
        }
        try waitForResponse(until: deadline, request)
        let remaining = Double(deadline.remainingNanoseconds) / 1e9
        let bound = min(max(remaining, 0.001), frameBound)
        let seconds = bound.rounded(.down)
        modbus_set_response_timeout(context, UInt32(seconds), UInt32((bound - seconds) * 1e6))
        let length = Int(modbus_receive_confirmation(context, &response))
        guard length > 0 else { throw receiveFailure(length == 0 ? 0 : errno, request) }
        let header = Int(modbus_get_header_length(context))
        let checksum = configuration.endpoint.isSerial ? 2 : 0
        guard length >= header + 1 + checksum else {
            throw dropAfterInvalid(
                ModbusError(.invalidResponse, "a frame of \(length) bytes (\(request.summary)) \(peer)")
            )
        }
        if Int(response[header - 1]) != configuration.unit {
            throw dropAfterInvalid(
                ModbusError(.invalidResponse, "answer from unit \(response[header - 1]) (\(request.summary)) \(peer)")
            )
        }
        do {
            return try request.parse(response[header..<(length - checksum)])
        } catch {
            if case .exception = error.kind {
                throw ModbusError(error.kind, "\(error.message) \(peer)")
            }
            throw dropAfterInvalid(ModbusError(error.kind, "\(error.message) \(peer)"))
        }
    }

    /// The ADU bytes libmodbus adds around the unit id and PDU: the MBAP header's other 6 bytes,
    /// or the RTU CRC.
    private var headerAndChecksum: Int32 { configuration.endpoint.isSerial ? 2 : 6 }

    private func receiveFailure(_ code: Int32, _ request: ModbusRequest) -> ModbusError {
        switch code {
        case plenum_modbus_errno_bad_crc():
            needsFlush = true
            return ModbusError(.crc, "CRC error in the response (\(request.summary)) \(peer)")
        case ETIMEDOUT:
            return dropAfterTimeout(
                ModbusError(.timeout, "incomplete response within \(frameBound) s (\(request.summary)) \(peer)")
            )
        case plenum_modbus_errno_bad_data(), 0:
            return dropAfterInvalid(ModbusError(.invalidResponse, "malformed response (\(request.summary)) \(peer)"))
        default:
            let reason = SystemError("recv", code: code).reason
            disconnect()
            return ModbusError(.connection, "connection lost: \(reason) \(peer)")
        }
    }

    /// After a timeout, a TCP connection is dropped (a late answer must not be read as the next
    /// one's); a serial line is flushed before the next request.
    private func dropAfterTimeout(_ error: ModbusError) -> ModbusError {
        if configuration.endpoint.isSerial { needsFlush = true } else { disconnect() }
        return error
    }

    private func dropAfterInvalid(_ error: ModbusError) -> ModbusError { dropAfterTimeout(error) }

    // MARK: - Waiting

    private enum Readiness {
        case ready, timedOut, interrupted
    }

    /// Polls `descriptor` for `events` and the interrupter, until `deadline`.
    private func wait(_ descriptor: Int32, for events: Int16, until deadline: Deadline) -> Readiness {
        var fds = [
            pollfd(fd: descriptor, events: events, revents: 0),
            pollfd(fd: interrupter.descriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let timeout: Int32 = deadline.isNever ? -1 : deadline.remainingMilliseconds(cappedAt: 3_600_000)
            let ready = poll(&fds, 2, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                return .timedOut
            }
            if fds[1].revents != 0 { return .interrupted }
            if fds[0].revents != 0 { return .ready }
            if deadline.hasPassed { return .timedOut }
        }
    }

    private func waitForResponse(until deadline: Deadline, _ request: ModbusRequest) throws(ModbusError) {
        switch wait(modbus_get_socket(context), for: Int16(POLLIN), until: deadline) {
        case .ready:
            return
        case .timedOut:
            throw dropAfterTimeout(
                ModbusError(
                    .timeout,
                    "no response within \(configuration.timeout) s (\(request.summary)) \(peer)"
                )
            )
        case .interrupted:
            disconnect()
            throw ModbusError(.interrupted, "the device is stopping (\(request.summary)) \(peer)")
        }
    }

    // MARK: - Connecting

    private func connect(until deadline: Deadline) throws(ModbusError) {
        switch configuration.endpoint {
        case .rtu(let path, _, _, _, _):
            guard modbus_connect(context) == 0 else {
                let error = SystemError("open \(path)")
                let hint = error.code == EACCES ? " (is the hub's user in the dialout group?)" : ""
                throw ModbusError(.connection, "cannot open the serial port: \(error)\(hint) \(peer)")
            }
            guard let port = LowDescriptors.shared.adopt(modbus_get_socket(context)) else {
                modbus_set_socket(context, -1)
                throw outOfLowDescriptors()
            }
            modbus_set_socket(context, port)
            connected = true
            needsFlush = true
        case .tcp(let host, let port):
            let socket = try connectTCP(host: host, port: port, until: deadline)
            guard let low = LowDescriptors.shared.adopt(socket) else { throw outOfLowDescriptors() }
            modbus_set_socket(context, low)
            connected = true
        }
    }

    private func outOfLowDescriptors() -> ModbusError {
        ModbusError(
            .connection,
            "no descriptor below \(LowDescriptors.limit) left for Modbus (the hub has too many open connections) \(peer)"
        )
    }

    /// A connected non-blocking TCP socket, trying each address of `host` in turn.
    private func connectTCP(host: String, port: Int, until deadline: Deadline) throws(ModbusError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw ModbusError(.connection, "cannot resolve \(host): \(String(cString: gai_strerror(status))) \(peer)")
        }
        defer { freeaddrinfo(list) }
        var lastError = SystemError("connect", code: ECONNREFUSED)
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = Glibc.socket(
                address.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                0
            )
            guard fd >= 0 else {
                lastError = SystemError("socket")
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                lastError = SystemError("connect")
                Glibc.close(fd)
                continue
            }
            switch wait(fd, for: Int16(POLLOUT), until: deadline) {
            case .ready:
                var code: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
                if code == 0 { return fd }
                lastError = SystemError("connect", code: code)
                Glibc.close(fd)
            case .timedOut:
                Glibc.close(fd)
                throw ModbusError(.timeout, "no connection within \(configuration.timeout) s \(peer)")
            case .interrupted:
                Glibc.close(fd)
                throw ModbusError(.interrupted, "the device is stopping \(peer)")
            }
        }
        throw ModbusError(.connection, "cannot connect: \(lastError.reason) \(peer)")
    }

    /// libmodbus closes the connection (and restores a serial port's settings) on a copy of its
    /// descriptor, so that the number it used goes back to `LowDescriptors` instead of being freed.
    private func disconnect() {
        guard connected else { return }
        connected = false
        let descriptor = modbus_get_socket(context)
        guard descriptor >= 0 else { return modbus_close(context) }
        modbus_set_socket(context, fcntl(descriptor, F_DUPFD_CLOEXEC, 0))
        modbus_close(context)
        LowDescriptors.shared.close(descriptor)
    }
}
