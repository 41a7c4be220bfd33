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
///
/// Reading arguments never allocates in Lua, so it can never raise.
public struct LuaArguments {
    let state: OpaquePointer

    init(_ state: OpaquePointer) { self.state = state }

    public var count: Int { Int(lua_gettop(state)) }

    /// Argument `index` (1-based), converted; `.nil` past the end. Strings must be valid UTF-8.
    public func value(_ index: Int) throws(LuaConversionError) -> LuaValue {
        let name = index < Self.names.count ? Self.names[index] : "argument \(index)"
        return try LuaState.convert(state, at: Int32(index), path: name)
    }

    /// "argument 1" … built once: conversion names its argument only in errors, but takes the
    /// name on every call.
    private static let names = (0..<9).map { "argument \($0)" }

    /// A string argument's bytes, unchanged (any bytes: binary frames, Latin-1, NUL).
    public func bytes(_ index: Int) -> [UInt8]? {
        withBytes(index) { Array($0) }
    }

    /// A string argument that is valid UTF-8 (paths, names, options); nil otherwise.
    public func string(_ index: Int) -> String? {
        withBytes(index) { String(validating: $0, as: UTF8.self) } ?? nil
    }

    private func withBytes<T>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        guard lua_type(state, Int32(index)) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(state, Int32(index), &length) else { return nil }
        return body(UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self))
    }

    public func number(_ index: Int) -> Double? {
        guard lua_type(state, Int32(index)) == LUA_TNUMBER else { return nil }
        return plenum_tonumber(state, Int32(index))
    }

    /// An integer argument, or a float with an integral value in Int64's range.
    public func integer(_ index: Int) -> Int64? {
        guard lua_type(state, Int32(index)) == LUA_TNUMBER else { return nil }
        if plenum_isinteger(state, Int32(index)) != 0 { return plenum_tointeger(state, Int32(index)) }
        let d = plenum_tonumber(state, Int32(index))
        return d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
    }

    public func isNil(_ index: Int) -> Bool { plenum_isnoneornil(state, Int32(index)) != 0 }

    /// A type name for messages: "nil", "number", "table", … and "non-UTF-8 string" for a
    /// string that `string(_:)` refuses.
    public func typeName(_ index: Int) -> String {
        let type = lua_type(state, Int32(index))
        if type == LUA_TSTRING && string(index) == nil { return "non-UTF-8 string" }
        return String(cString: lua_typename(state, type))
    }
}

/// Holds a host function for the C trampoline; owned by its `LuaState`.
final class HostFunctionBox {
    let function: HostFunction

    init(_ function: @escaping HostFunction) { self.function = function }

    /// The C entry point every host function goes through: runs the Swift function and
    /// describes its result for the trampoline, which builds it (under the memory cap) and
    /// raises errors once Swift has returned.
    static let thunk:
        @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<plenum_host_result>?)
            -> Void = { state, context, result in
                guard let state, let context, let result else { return }
                let box = Unmanaged<HostFunctionBox>.fromOpaque(context).takeUnretainedValue()
                switch box.function(LuaArguments(state)) {
                case .none:
                    result.pointee.count = 0
                case .one(let value):
                    describe([value], in: result)
                case .many(let values):
                    describe(values, in: result)
                case .error(let message):
                    describe(error: message, in: result)
                }
            }

    private static func describe(_ values: [LuaValue], in result: UnsafeMutablePointer<plenum_host_result>) {
        guard values.count < 10_000 else { return describe(error: "too many results", in: result) }
        let size = values.reduce(0) { $0 + LuaValueEncoding.size(of: $1) }
        guard let buffer = plenum_result_reserve(result, size) else {
            return describe(error: "not enough memory for this call's result", in: result)
        }
        var offset = 0
        for value in values { LuaValueEncoding.write(value, to: buffer, at: &offset) }
        result.pointee.count = Int32(values.count)
    }

    private static func describe(error message: String, in result: UnsafeMutablePointer<plenum_host_result>) {
        var message = message
        message.withUTF8 { bytes in
            let count = plenum_result_reserve(result, bytes.count) == nil ? min(bytes.count, 256) : bytes.count
            if count < bytes.count { _ = plenum_result_reserve(result, count) }
            if count > 0, let base = bytes.baseAddress {
                UnsafeMutableRawPointer(result.pointee.data).copyMemory(from: base, byteCount: count)
            }
        }
        result.pointee.count = PLENUM_HOST_ERROR
    }
}
