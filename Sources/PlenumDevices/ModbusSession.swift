import Logging
import PlenumLua
import PlenumModbus

/// The Modbus connections and servers one script run opened (`hub.modbus`), closed when the run
/// ends (the session is released with the run's Lua state) and interrupted when the device is
/// asked to stop.
///
/// Every function returns its result, or `nil, message` for the Lua side to raise at the
/// script's call site (`HubAPI+Modbus.swift`): messages are `modbus <kind>: …` for failed
/// exchanges and `bad argument #n to '<method>' (…)` for arguments.
final class ModbusSession {
    static let maxConnections = 32
    static let maxServers = 4

    private let signal: DeviceSignal
    private let logger: Logger
    private var clients: [Int: ModbusClient] = [:]
    private var servers: [Int: ModbusServer] = [:]
    private var nextID = 1
    /// One interrupter for every client of the run, fired by the device's stop request.
    private var interrupter: ModbusInterrupter?
    private var stopToken: Int?

    init(signal: DeviceSignal, logger: Logger) {
        self.signal = signal
        self.logger = logger
    }

    deinit {
        for client in clients.values { client.close() }
        for server in servers.values { server.stop() }
        if let stopToken { signal.removeStopAction(stopToken) }
    }

    // MARK: - Opening

    func openTCP(_ args: LuaArguments) -> HostReturn {
        let function = "hub.modbus.tcp"
        return open(function, args, keys: ["host", "port", "unit", "timeout"]) { options throws(ArgumentError) in
            ModbusEndpoint.tcp(
                host: try options.string("host", required: true) ?? "",
                port: try options.integer("port") ?? 502
            )
        }
    }

    func openRTU(_ args: LuaArguments) -> HostReturn {
        let function = "hub.modbus.rtu"
        let keys = ["port", "baud", "parity", "data_bits", "stop_bits", "unit", "timeout"]
        return open(function, args, keys: keys) { options throws(ArgumentError) in
            let parityName = try options.string("parity") ?? "none"
            guard let parity = ModbusEndpoint.Parity(rawValue: parityName) else {
                throw ArgumentError("parity \"\(parityName)\" must be \"none\", \"even\" or \"odd\"")
            }
            return ModbusEndpoint.rtu(
                path: try options.string("port", required: true) ?? "",
                baud: try options.integer("baud") ?? 9_600,
                parity: parity,
                dataBits: try options.integer("data_bits") ?? 8,
                stopBits: try options.integer("stop_bits") ?? 1
            )
        }
    }

    private func open(
        _ function: String,
        _ args: LuaArguments,
        keys: [String],
        endpoint: (ModbusOptions) throws(ArgumentError) -> ModbusEndpoint
    ) -> HostReturn {
        guard clients.count < Self.maxConnections else {
            return failure("\(function): this script already has \(Self.maxConnections) open connections; close some")
        }
        let client: ModbusClient
        do {
            let options = try ModbusOptions(args, function: function, keys: keys)
            let configuration = ModbusClient.Configuration(
                endpoint: try endpoint(options),
                unit: try options.integer("unit") ?? 1,
                timeout: try Self.timeout(args, 2)
            )
            client = try ModbusClient(configuration, interrupter: try sessionInterrupter())
        } catch let error as ArgumentError {
            return failure("\(function): \(error.message)")
        } catch let error as ModbusError {
            return failure("\(function): \(error.message)")
        } catch {
            return failure("\(function): \(error)")
        }
        let id = nextID
        nextID += 1
        clients[id] = client
        return .one(.integer(Int64(id)))
    }

    /// The prelude passes `timeout` beside the options table, so that `math.huge` (no limit)
    /// and NaN reach `Deadline`'s validation as numbers.
    private static func timeout(_ args: LuaArguments, _ index: Int) throws(ArgumentError) -> Double {
        if args.isNil(index) { return 1 }
        guard let seconds = args.number(index) else {
            throw ArgumentError("timeout must be a number of seconds, got \(args.typeName(index))")
        }
        return seconds
    }

    private func sessionInterrupter() throws(ModbusError) -> ModbusInterrupter {
        if let interrupter { return interrupter }
        let made = try ModbusInterrupter()
        interrupter = made
        stopToken = signal.addStopAction { made.interrupt() }
        return made
    }

    // MARK: - Requests (blocking)

    enum Request: Int {
        case holding = 1
        case input, coils, discrete, writeRegister, writeRegisters, writeCoil, close

        var method: String {
            switch self {
            case .holding: "read_holding"
            case .input: "read_input"
            case .coils: "read_coils"
            case .discrete: "read_discrete"
            case .writeRegister: "write_register"
            case .writeRegisters: "write_registers"
            case .writeCoil: "write_coil"
            case .close: "close"
            }
        }
    }

    /// `(id, address, count-or-value)` from a connection method.
    func perform(_ request: Request, _ args: LuaArguments) -> HostReturn {
        let method = request.method
        guard let id = args.integer(1), let client = clients[Int(id)] else {
            return failure("\(method): not an open Modbus connection (call it as conn:\(method)(…); closed already?)")
        }
        if request == .close {
            client.close()
            clients[Int(id)] = nil
            return .one(.boolean(true))
        }
        guard let address = args.integer(2), (0...65_535).contains(address) else {
            return badArgument(1, method, "address \(describe(args, 2)) must be an integer from 0 to 65535")
        }
        do {
            switch request {
            case .holding, .input, .coils, .discrete:
                let isBits = request == .coils || request == .discrete
                let limit = isBits ? 2_000 : 125
                guard let count = args.integer(3), (1...Int64(limit)).contains(count) else {
                    return badArgument(2, method, "count \(describe(args, 3)) must be an integer from 1 to \(limit)")
                }
                guard address + count <= 65_536 else {
                    return badArgument(2, method, "address \(address) + count \(count) runs past address 65535")
                }
                switch request {
                case .holding: return registers(try client.readHoldingRegisters(at: Int(address), count: Int(count)))
                case .input: return registers(try client.readInputRegisters(at: Int(address), count: Int(count)))
                case .coils: return bits(try client.readCoils(at: Int(address), count: Int(count)))
                default: return bits(try client.readDiscreteInputs(at: Int(address), count: Int(count)))
                }
            case .writeRegister:
                guard let value = args.integer(3), (0...65_535).contains(value) else {
                    return badArgument(
                        2,
                        method,
                        "value \(describe(args, 3)) must be an integer from 0 to 65535 (hub.modbus.encode signed or wider values)"
                    )
                }
                try client.writeRegister(at: Int(address), value: Int(value))
            case .writeRegisters:
                let values: [Int]
                switch ModbusValues.registers(args, 3, limit: 123) {
                case .success(let list): values = list
                case .failure(let error): return badArgument(2, method, error.message)
                }
                guard Int(address) + values.count <= 65_536 else {
                    return badArgument(
                        2,
                        method,
                        "\(values.count) values from address \(address) run past address 65535"
                    )
                }
                try client.writeRegisters(at: Int(address), values: values)
            case .writeCoil:
                guard case .boolean(let on)? = try? args.value(3) else {
                    return badArgument(2, method, "boolean expected, got \(args.typeName(3))")
                }
                try client.writeCoil(at: Int(address), on: on)
            case .close:
                break
            }
            return .one(.boolean(true))
        } catch {
            return failure(error.description)
        }
    }

    private func registers(_ words: [UInt16]) -> HostReturn {
        .one(.array(words.map { .integer(Int64($0)) }))
    }

    private func bits(_ values: [Bool]) -> HostReturn {
        .one(.array(values.map { .boolean($0) }))
    }

    // MARK: - Servers

    func serve(_ args: LuaArguments) -> HostReturn {
        let function = "hub.modbus.serve"
        guard servers.count < Self.maxServers else {
            return failure("\(function): this script already serves \(Self.maxServers) ports")
        }
        let server: ModbusServer
        do {
            let options = try ModbusOptions(
                args,
                function: function,
                keys: ["host", "port", "unit", "holding", "input", "coils", "discrete", "max_connections"]
            )
            var configuration = ModbusServer.Configuration()
            configuration.host = try options.string("host") ?? configuration.host
            guard let port = try options.integer("port") else { throw ArgumentError("port is required (0 for any)") }
            configuration.port = port
            configuration.unit = try options.integer("unit") ?? configuration.unit
            configuration.holdingRegisters = try options.integer("holding") ?? configuration.holdingRegisters
            configuration.inputRegisters = try options.integer("input") ?? configuration.inputRegisters
            configuration.coils = try options.integer("coils") ?? configuration.coils
            configuration.discreteInputs = try options.integer("discrete") ?? configuration.discreteInputs
            configuration.maxConnections = try options.integer("max_connections") ?? configuration.maxConnections
            server = try ModbusServer(configuration)
        } catch let error as ArgumentError {
            return failure("\(function): \(error.message)")
        } catch let error as ModbusError {
            return failure("\(function): \(error.message)")
        } catch {
            return failure("\(function): \(error)")
        }
        let id = nextID
        nextID += 1
        servers[id] = server
        logger.info("serving Modbus TCP", metadata: ["modbus.port": "\(server.port)"])
        return .many([.integer(Int64(id)), .integer(Int64(server.port))])
    }

    /// `server:set(table, address, values)`, `server:get(table, address, count)`, `server:close()`.
    func serverCall(_ method: String, _ args: LuaArguments) -> HostReturn {
        guard let id = args.integer(1), let server = servers[Int(id)] else {
            return failure("\(method): not a running Modbus server (call it as server:\(method)(…); closed already?)")
        }
        if method == "close" {
            server.stop()
            servers[Int(id)] = nil
            return .one(.boolean(true))
        }
        guard let name = args.string(2), let table = ModbusServer.Table(rawValue: name) else {
            return badArgument(
                1,
                method,
                "table \(describe(args, 2)) must be \"holding\", \"input\", \"coil\" or \"discrete\""
            )
        }
        guard let address = args.integer(3), (0...65_535).contains(address) else {
            return badArgument(2, method, "address \(describe(args, 3)) must be an integer from 0 to 65535")
        }
        do {
            if method == "get" {
                guard let count = args.integer(4), (1...65_536).contains(count) else {
                    return badArgument(3, method, "count \(describe(args, 4)) must be an integer from 1 to 65536")
                }
                if table == .coils || table == .discreteInputs {
                    return bits(try server.bits(table, at: Int(address), count: Int(count)))
                }
                return registers(try server.registers(table, at: Int(address), count: Int(count)))
            }
            if table == .coils || table == .discreteInputs {
                switch ModbusValues.booleans(args, 4) {
                case .success(let values): try server.setBits(table, at: Int(address), values)
                case .failure(let error): return badArgument(3, method, error.message)
                }
            } else {
                switch ModbusValues.registers(args, 4, limit: 65_536) {
                case .success(let values): try server.setRegisters(table, at: Int(address), values.map { UInt16($0) })
                case .failure(let error): return badArgument(3, method, error.message)
                }
            }
            return .one(.boolean(true))
        } catch {
            return failure("\(method): \(error.message)")
        }
    }

    // MARK: - Messages

    private func failure(_ message: String) -> HostReturn { .many([.nil, .string(message)]) }

    private func badArgument(_ index: Int, _ method: String, _ message: String) -> HostReturn {
        failure("bad argument #\(index) to '\(method)' (\(message))")
    }
}

/// How an argument was given, for messages: `70000`, `"12"`, `nil`, `a table`.
func describe(_ args: LuaArguments, _ index: Int) -> String {
    if let integer = args.integer(index) { return String(integer) }
    if let number = args.number(index) { return String(number) }
    if let string = args.string(index) { return "\"\(string.prefix(40))\"" }
    return args.isNil(index) ? "nil" : "(a \(args.typeName(index)))"
}
