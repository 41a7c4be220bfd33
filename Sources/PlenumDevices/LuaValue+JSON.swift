import PlenumCore
import PlenumLua

extension LuaValue {
    /// The JSON a script's value publishes as.
    var json: JSONValue {
        switch self {
        case .nil: .null
        case .boolean(let b): .bool(b)
        case .integer(let i): .integer(i)
        case .number(let d): .double(d)
        case .string(let s): .string(s)
        // Conversion from Lua never produces bytes (non-UTF-8 strings are refused there).
        case .bytes(let b): .string(String(decoding: b, as: UTF8.self))
        case .array(let items): .array(items.map(\.json))
        case .table(let fields): .object(fields.mapValues(\.json))
        }
    }

    init(_ json: JSONValue) {
        switch json {
        case .null: self = .nil
        case .bool(let b): self = .boolean(b)
        case .integer(let i): self = .integer(i)
        case .double(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(LuaValue.init))
        case .object(let fields): self = .table(fields.mapValues(LuaValue.init))
        }
    }
}
