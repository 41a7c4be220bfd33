internal import CPlenumLua

/// What a Swift host function returns to Lua.
public enum HostReturn {
    case none
    case one(LuaValue)
    case many([LuaValue])
    /// Raised in the calling script as a Lua error (catchable with `pcall`), prefixed with the
    /// script's `file:line:`.
    case error(String)
}

/// A Swift function callable from Lua. It receives its arguments and returns values or an error;
/// it never raises a Lua error itself (the C trampoline does, after Swift has returned).
public typealias HostFunction = (LuaArguments) -> HostReturn

/// The arguments of one host-function call. Valid only during that call.
public struct LuaArguments {
    let state: OpaquePointer

    init(_ state: OpaquePointer) { self.state = state }

    public var count: Int { Int(lua_gettop(state)) }

    /// Argument `index` (1-based), converted; `.nil` past the end.
    public func value(_ index: Int) throws(LuaConversionError) -> LuaValue {
        let name = index < Self.names.count ? Self.names[index] : "argument \(index)"
        return try LuaState.convert(state, at: Int32(index), path: name)
    }

    /// "argument 1" … built once: conversion names its argument only in errors, but takes the
    /// name on every call.
    private static let names = (0..<9).map { "argument \($0)" }

    public func string(_ index: Int) -> String? {
        guard lua_type(state, Int32(index)) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(state, Int32(index), &length) else { return nil }
        return String(
            decoding: UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self),
            as: UTF8.self
        )
    }

    public func number(_ index: Int) -> Double? {
        guard lua_type(state, Int32(index)) == LUA_TNUMBER else { return nil }
        return plenum_tonumber(state, Int32(index))
    }

    public func integer(_ index: Int) -> Int64? {
        guard lua_type(state, Int32(index)) == LUA_TNUMBER else { return nil }
        if plenum_isinteger(state, Int32(index)) != 0 { return plenum_tointeger(state, Int32(index)) }
        let d = plenum_tonumber(state, Int32(index))
        return d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
    }

    public func isNil(_ index: Int) -> Bool { plenum_isnoneornil(state, Int32(index)) != 0 }

    /// A Lua type name for messages: "nil", "number", "table", …
    public func typeName(_ index: Int) -> String {
        String(cString: lua_typename(state, lua_type(state, Int32(index))))
    }
}

/// Holds a host function for the C trampoline; owned by its `LuaState`.
final class HostFunctionBox {
    let function: HostFunction

    init(_ function: @escaping HostFunction) { self.function = function }

    /// The C entry point every host function goes through.
    static let thunk: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { state, context in
        guard let state, let context else { return 0 }
        let box = Unmanaged<HostFunctionBox>.fromOpaque(context).takeUnretainedValue()
        let result = box.function(LuaArguments(state))
        switch result {
        case .none:
            return 0
        case .one(let value):
            return LuaState.push(value, onto: state) ? 1 : errorResult(state, "result too deeply nested")
        case .many(let values):
            guard lua_checkstack(state, Int32(values.count) + 1) != 0 else {
                return errorResult(state, "too many results")
            }
            for value in values where !LuaState.push(value, onto: state) {
                return errorResult(state, "result too deeply nested")
            }
            return Int32(values.count)
        case .error(let message):
            return errorResult(state, message)
        }
    }

    /// Leaves `file:line: message` on the stack and asks the trampoline to raise it.
    private static func errorResult(_ state: OpaquePointer, _ message: String) -> Int32 {
        luaL_where(state, 1)
        _ = plenum_pushstring(state, message)
        lua_concat(state, 2)
        return PLENUM_HOST_ERROR
    }
}
