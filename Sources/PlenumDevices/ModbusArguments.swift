import PlenumLua
import PlenumModbus

/// A bad argument to a `hub.modbus` function, as the script's author reads it.
struct ArgumentError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// An options table (`{host = "10.0.0.5", port = 502}`), its keys checked against a list.
struct ModbusOptions {
    private let fields: [String: LuaValue]

    init(_ args: LuaArguments, function: String, keys: [String]) throws(ArgumentError) {
        let value: LuaValue
        do {
            value = try args.value(1)
        } catch {
            let path = error.path.hasPrefix("argument 1.") ? String(error.path.dropFirst(11)) : error.path
            throw ArgumentError("\(path): \(error.reason)")
        }
        switch value {
        case .table(let table): fields = table
        case .nil, .boolean, .integer, .number, .string, .array:
            throw ArgumentError(
                "an options table {\(keys.joined(separator: "=, "))=} expected, got \(args.typeName(1))"
            )
        }
        for key in fields.keys.sorted() where !keys.contains(key) {
            throw ArgumentError("unknown option '\(key)' (expected \(keys.joined(separator: ", ")))")
        }
    }

    func string(_ key: String, required: Bool = false) throws(ArgumentError) -> String? {
        switch fields[key] {
        case .string(let text)?: return text
        case nil: if required { throw ArgumentError("\(key) is required") } else { return nil }
        case let other?: throw ArgumentError("\(key) must be a string, got \(Self.typeName(other))")
        }
    }

    func integer(_ key: String) throws(ArgumentError) -> Int? {
        switch fields[key] {
        case .integer(let value)?: return Int(value)
        case nil: return nil
        case let other?: throw ArgumentError("\(key) must be an integer, got \(Self.typeName(other))")
        }
    }

    func number(_ key: String) throws(ArgumentError) -> Double? {
        switch fields[key] {
        case .integer(let value)?: return Double(value)
        case .number(let value)?: return value
        case nil: return nil
        case let other?: throw ArgumentError("\(key) must be a number, got \(Self.typeName(other))")
        }
    }

    static func typeName(_ value: LuaValue) -> String {
        switch value {
        case .nil: "nil"
        case .boolean(let b): "boolean \(b)"
        case .integer(let i): "integer \(i)"
        case .number(let d): "number \(d)"
        case .string(let s): "string \"\(s.prefix(40))\""
        case .array, .table: "a table"
        }
    }
}

/// Lists of register values and bits passed by scripts.
enum ModbusValues {
    /// A list of 1…`limit` integers, each 0…65535.
    static func registers(_ args: LuaArguments, _ index: Int, limit: Int) -> Result<[Int], ArgumentError> {
        guard case .array(let items)? = try? args.value(index) else {
            return .failure(ArgumentError("a list of register values {…} expected, got \(args.typeName(index))"))
        }
        guard items.count <= limit else {
            return .failure(ArgumentError("\(items.count) values; at most \(limit) in one call"))
        }
        var values: [Int] = []
        values.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            guard case .integer(let value) = item, (0...65_535).contains(value) else {
                return .failure(
                    ArgumentError(
                        "values[\(position + 1)] = \(ModbusOptions.typeName(item)) does not fit a register (0…65535; hub.modbus.encode other values)"
                    )
                )
            }
            values.append(Int(value))
        }
        return .success(values)
    }

    /// A list of booleans.
    static func booleans(_ args: LuaArguments, _ index: Int) -> Result<[Bool], ArgumentError> {
        guard case .array(let items)? = try? args.value(index) else {
            return .failure(ArgumentError("a list of booleans {…} expected, got \(args.typeName(index))"))
        }
        var values: [Bool] = []
        for (position, item) in items.enumerated() {
            guard case .boolean(let bit) = item else {
                return .failure(
                    ArgumentError("values[\(position + 1)] = \(ModbusOptions.typeName(item)) is not a boolean")
                )
            }
            values.append(bit)
        }
        return .success(values)
    }

    /// `"f32"` or `{type = "f32", order = "CDAB", scale = 0.1, offset = 0}`.
    static func format(_ args: LuaArguments, _ index: Int) -> Result<RegisterFormat, ArgumentError> {
        let types = RegisterFormat.ValueType.allCases.map(\.rawValue).joined(separator: ", ")
        if let name = args.string(index) {
            guard let type = RegisterFormat.ValueType(rawValue: name) else {
                return .failure(ArgumentError("type \"\(name)\" is not one of \(types)"))
            }
            return .success(RegisterFormat(type))
        }
        guard case .table(let fields)? = try? args.value(index) else {
            return .failure(
                ArgumentError("a type name or {type=, order=, scale=, offset=} expected, got \(args.typeName(index))")
            )
        }
        for key in fields.keys.sorted() where !["type", "order", "scale", "offset"].contains(key) {
            return .failure(ArgumentError("unknown key '\(key)' (expected type, order, scale, offset)"))
        }
        guard case .string(let name)? = fields["type"], let type = RegisterFormat.ValueType(rawValue: name) else {
            return .failure(ArgumentError("type must be one of \(types)"))
        }
        var format = RegisterFormat(type)
        if let order = fields["order"] {
            guard case .string(let name) = order, let parsed = RegisterFormat.ByteOrder(rawValue: name.uppercased())
            else {
                return .failure(ArgumentError("order must be \"ABCD\", \"CDAB\", \"BADC\" or \"DCBA\""))
            }
            format.order = parsed
        }
        for (key, target) in [("scale", \RegisterFormat.scale), ("offset", \RegisterFormat.offset)] {
            switch fields[key] {
            case .integer(let value)?: format[keyPath: target] = Double(value)
            case .number(let value)?: format[keyPath: target] = value
            case nil: break
            case let other?:
                return .failure(ArgumentError("\(key) must be a number, got \(ModbusOptions.typeName(other))"))
            }
        }
        guard format.scale != 0 else { return .failure(ArgumentError("scale must not be 0")) }
        return .success(format)
    }

    /// `hub.modbus.decode(registers, format [, index])`: the value whose first register is at
    /// `index` (1-based, default 1).
    static func decode(_ args: LuaArguments) -> HostReturn {
        let function = "hub.modbus.decode"
        guard case .array(let items)? = try? args.value(1) else {
            return .error("bad argument #1 to '\(function)' (a list of registers expected, got \(args.typeName(1)))")
        }
        let format: RegisterFormat
        switch Self.format(args, 2) {
        case .success(let parsed): format = parsed
        case .failure(let error): return .error("bad argument #2 to '\(function)' (\(error.message))")
        }
        let start = args.isNil(3) ? 1 : Int(args.integer(3) ?? 0)
        let end = start + format.type.registerCount - 1
        guard start >= 1, end <= items.count else {
            return .error(
                "bad argument #3 to '\(function)' (a \(format.type.rawValue) at index \(describe(args, 3)) needs registers \(start)…\(end), the list has \(items.count))"
            )
        }
        var words: [UInt16] = []
        for position in start...end {
            guard case .integer(let value) = items[position - 1], (0...65_535).contains(value) else {
                return .error(
                    "bad argument #1 to '\(function)' (registers[\(position)] = \(ModbusOptions.typeName(items[position - 1])) is not a register value 0…65535)"
                )
            }
            words.append(UInt16(value))
        }
        do {
            switch try RegisterCodec.decode(words, as: format) {
            case .integer(let value): return .one(.integer(value))
            case .double(let value): return .one(.number(value))
            }
        } catch {
            return .error("\(function): \(error)")
        }
    }

    /// `hub.modbus.encode(value, format)`: the registers that hold `value`.
    static func encode(_ args: LuaArguments) -> HostReturn {
        let function = "hub.modbus.encode"
        let value: RegisterCodec.Value
        switch try? args.value(1) {
        case .integer(let integer)?: value = .integer(integer)
        case .number(let number)?: value = .double(number)
        default:
            return .error("bad argument #1 to '\(function)' (a finite number expected, got \(describe(args, 1)))")
        }
        let format: RegisterFormat
        switch Self.format(args, 2) {
        case .success(let parsed): format = parsed
        case .failure(let error): return .error("bad argument #2 to '\(function)' (\(error.message))")
        }
        do {
            return .one(.array(try RegisterCodec.encode(value, as: format).map { .integer(Int64($0)) }))
        } catch {
            return .error("\(function): \(error)")
        }
    }
}
