internal import CModbus
import Glibc
import PlenumCore
import Synchronization

/// A Modbus TCP server (libmodbus's server side) on its own thread, answering from a register
/// table that its owner writes into and reads clients' writes from.
///
/// - The table (coils, discrete inputs, holding and input registers, each from address 0) is
///   guarded by one lock, taken by the server thread for each request it answers and by the
///   owner for each `set…`/`…` read: a client never sees half of a multi-register update made
///   with one call.
/// - At most `maxConnections` clients at once; a further one is accepted and closed at once.
///   A client must send a whole request within 0.5 s of its first byte, or it is disconnected,
///   so one slow client delays the others by at most that.
/// - Requests for another unit id than `unit` (255, "no unit", is accepted too) get the
///   exception `gateway target device failed to respond`.
///
/// The server thread holds the server until `stop()`: its owner must call `stop()` (the device
/// runtime does when the script ends).
///
/// `Sendable`: the table is behind a `Mutex`; the libmodbus context and the sockets belong to
/// the server thread alone; `stop()` only writes to an eventfd the thread polls.
public final class ModbusServer: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// IPv4 address to listen on. Default 127.0.0.1 (this machine only).
        public var host: String = "127.0.0.1"
        /// TCP port; 0 picks a free one (see `port`).
        public var port: Int = 502
        /// The unit id this server answers as, 0…255.
        public var unit: Int = 1
        public var coils: Int = 1_000
        public var discreteInputs: Int = 1_000
        public var holdingRegisters: Int = 1_000
        public var inputRegisters: Int = 1_000
        public var maxConnections: Int = 8

        public init() {}
    }

    /// One of the four Modbus tables.
    public enum Table: String, Sendable, CaseIterable {
        case coils = "coil"
        case discreteInputs = "discrete"
        case holdingRegisters = "holding"
        case inputRegisters = "input"

        var isBits: Bool { self == .coils || self == .discreteInputs }
    }

    public let configuration: Configuration
    /// The port actually listened on.
    public let port: Int
    private let mapping: Mutex<Mapping>
    private let wake: ModbusInterrupter
    private let exited = Mutex<Bool>(false)
    private let requestCount = Atomic<Int>(0)
    private let connectionCount = Atomic<Int>(0)

    /// The libmodbus table; only touched with `mapping`'s lock held (or after the thread ended).
    private struct Mapping: @unchecked Sendable {
        // Safe: the pointer is only dereferenced inside `mapping.withLock`, or in `deinit`
        // after the server thread has ended.
        let pointer: UnsafeMutablePointer<modbus_mapping_t>
    }

    /// Binds, listens and starts the server thread.
    public init(_ configuration: Configuration) throws(ModbusError) {
        // Reserve the low descriptors libmodbus needs while they are free (see LowDescriptors).
        _ = LowDescriptors.shared
        guard (0...65_535).contains(configuration.port) else {
            throw ModbusError(.invalidArgument, "port \(configuration.port) is out of range; expected 0…65535")
        }
        guard (0...255).contains(configuration.unit) else {
            throw ModbusError(.invalidArgument, "unit \(configuration.unit) is out of range; expected 0…255")
        }
        guard (1...1_024).contains(configuration.maxConnections) else {
            throw ModbusError(
                .invalidArgument,
                "max_connections \(configuration.maxConnections) is out of range; expected 1…1024"
            )
        }
        for (name, size) in [
            ("coils", configuration.coils), ("discrete", configuration.discreteInputs),
            ("holding", configuration.holdingRegisters), ("input", configuration.inputRegisters),
        ] where !(0...65_536).contains(size) {
            throw ModbusError(.invalidArgument, "\(name) \(size) is out of range; expected 0…65536 addresses")
        }
        guard let context = modbus_new_tcp(configuration.host, Int32(configuration.port)) else {
            throw ModbusError(
                .invalidArgument,
                "cannot listen on \(configuration.host): \(SystemError("modbus_new_tcp"))"
            )
        }
        let listener = modbus_tcp_listen(context, 16)
        guard listener >= 0 else {
            let error = SystemError("listen on \(configuration.host):\(configuration.port)")
            modbus_free(context)
            throw ModbusError(.connection, "\(error)")
        }
        var address = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &size) }
        }
        guard
            let table = modbus_mapping_new(
                Int32(configuration.coils),
                Int32(configuration.discreteInputs),
                Int32(configuration.holdingRegisters),
                Int32(configuration.inputRegisters)
            )
        else {
            Glibc.close(listener)
            modbus_free(context)
            throw ModbusError(.invalidArgument, "cannot allocate the register table")
        }
        modbus_set_indication_timeout(context, 0, 500_000)
        modbus_set_byte_timeout(context, 0, 0)
        self.configuration = configuration
        port = Int(UInt16(bigEndian: address.sin_port))
        mapping = Mutex(Mapping(pointer: table))
        do throws(ModbusError) {
            wake = try ModbusInterrupter()
        } catch {
            Glibc.close(listener)
            modbus_free(context)
            modbus_mapping_free(table)
            throw error
        }
        let loop = ServerLoop(context: context, listener: listener)
        do {
            _ = try NamedThread(name: "modbus :\(port)", stackSize: 256 << 10) { [self] in
                serve(loop)
                loop.finish()
                exited.withLock { $0 = true }
            }
        } catch {
            loop.finish()
            exited.withLock { $0 = true }
            throw ModbusError(.connection, "cannot start the server thread: \(error)")
        }
    }

    deinit {
        stop()
        mapping.withLock { modbus_mapping_free($0.pointer) }
    }

    /// Stops listening and closes every connection; waits (bounded) for the thread to end.
    public func stop() {
        wake.interrupt()
        for _ in 0..<500 where !exited.withLock({ $0 }) { usleep(2_000) }
    }

    /// Clients connected now.
    public var connections: Int { connectionCount.load(ordering: .relaxed) }

    /// Requests answered so far.
    public var requestsServed: Int { requestCount.load(ordering: .relaxed) }

    // MARK: - The table, from the owner's side

    /// Writes `values` (0…65535 each) at `address` in a register table.
    public func setRegisters(_ table: Table, at address: Int, _ values: [UInt16]) throws(ModbusError) {
        guard !table.isBits else { throw ModbusError(.invalidArgument, "\(table.rawValue) holds bits, not registers") }
        try check(table, address, values.count)
        mapping.withLock { mapping in
            let base =
                table == .holdingRegisters
                ? mapping.pointer.pointee.tab_registers : mapping.pointer.pointee.tab_input_registers
            for (index, value) in values.enumerated() { base![address + index] = value }
        }
    }

    /// Writes `values` at `address` in a bit table.
    public func setBits(_ table: Table, at address: Int, _ values: [Bool]) throws(ModbusError) {
        guard table.isBits else { throw ModbusError(.invalidArgument, "\(table.rawValue) holds registers, not bits") }
        try check(table, address, values.count)
        mapping.withLock { mapping in
            let base = table == .coils ? mapping.pointer.pointee.tab_bits : mapping.pointer.pointee.tab_input_bits
            for (index, value) in values.enumerated() { base![address + index] = value ? 1 : 0 }
        }
    }

    public func registers(_ table: Table, at address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        guard !table.isBits else { throw ModbusError(.invalidArgument, "\(table.rawValue) holds bits, not registers") }
        try check(table, address, count)
        return mapping.withLock { mapping in
            let base =
                table == .holdingRegisters
                ? mapping.pointer.pointee.tab_registers : mapping.pointer.pointee.tab_input_registers
            return (0..<count).map { base![address + $0] }
        }
    }

    public func bits(_ table: Table, at address: Int, count: Int) throws(ModbusError) -> [Bool] {
        guard table.isBits else { throw ModbusError(.invalidArgument, "\(table.rawValue) holds registers, not bits") }
        try check(table, address, count)
        return mapping.withLock { mapping in
            let base = table == .coils ? mapping.pointer.pointee.tab_bits : mapping.pointer.pointee.tab_input_bits
            return (0..<count).map { base![address + $0] != 0 }
        }
    }

    private func check(_ table: Table, _ address: Int, _ count: Int) throws(ModbusError) {
        let size =
            switch table {
            case .coils: configuration.coils
            case .discreteInputs: configuration.discreteInputs
            case .holdingRegisters: configuration.holdingRegisters
            case .inputRegisters: configuration.inputRegisters
            }
        guard address >= 0, count >= 1, address + count <= size else {
            throw ModbusError(
                .invalidArgument,
                "\(table.rawValue) \(address)…\(address + count - 1) is outside the table (0…\(size - 1))"
            )
        }
    }

    // MARK: - The server thread

    /// What only the server thread touches.
    private final class ServerLoop: @unchecked Sendable {
        // Safe: created by `init`, then used only on the server thread (handed over once).
        let context: OpaquePointer
        let listener: Int32
        var clients: [Int32] = []
        var query = [UInt8](repeating: 0, count: 260)

        init(context: OpaquePointer, listener: Int32) {
            self.context = context
            self.listener = listener
        }

        func finish() {
            for fd in clients { LowDescriptors.shared.close(fd) }
            clients.removeAll()
            Glibc.close(listener)
            modbus_free(context)
        }
    }

    private func serve(_ loop: ServerLoop) {
        while true {
            var fds = [
                pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: loop.listener, events: Int16(POLLIN), revents: 0),
            ]
            fds += loop.clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { return }
            if fds[1].revents != 0 {
                let accepted = accept(loop.listener, nil, nil)
                // libmodbus selects on it: below FD_SETSIZE, or refused (see LowDescriptors).
                if accepted >= 0, let client = LowDescriptors.shared.adopt(accepted) {
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    if loop.clients.count >= configuration.maxConnections {
                        LowDescriptors.shared.close(client)
                    } else {
                        var one: Int32 = 1
                        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        loop.clients.append(client)
                        connectionCount.store(loop.clients.count, ordering: .relaxed)
                    }
                }
            }
            var closed: Set<Int32> = []
            for entry in fds.dropFirst(2) where entry.revents != 0 {
                if !answer(entry.fd, loop) { closed.insert(entry.fd) }
            }
            if !closed.isEmpty {
                for fd in closed { LowDescriptors.shared.close(fd) }
                loop.clients.removeAll { closed.contains($0) }
                connectionCount.store(loop.clients.count, ordering: .relaxed)
            }
        }
    }

    /// Reads one request from `fd` and answers it; false when the client is gone or misbehaved.
    private func answer(_ fd: Int32, _ loop: ServerLoop) -> Bool {
        modbus_set_socket(loop.context, fd)
        let length = modbus_receive(loop.context, &loop.query)
        guard length > 0 else { return false }
        let header = Int(modbus_get_header_length(loop.context))
        let unit = Int(loop.query[header - 1])
        requestCount.add(1, ordering: .relaxed)
        if unit != configuration.unit && unit != 255 {
            return modbus_reply_exception(loop.context, loop.query, UInt32(MODBUS_EXCEPTION_GATEWAY_TARGET)) >= 0
        }
        return mapping.withLock { mapping in
            modbus_reply(loop.context, loop.query, length, mapping.pointer) >= 0
        }
    }
}
