/// A Lua value that can cross into Swift: what scripts publish and what host functions return.
///
/// A Lua table becomes `.array` when its keys are exactly 1...n, otherwise `.table` with string
/// keys (an empty table is an empty `.table`). Functions, userdata, threads, cycles, NaN and
/// infinities do not convert; `LuaState` reports them as errors naming where they were found.
///
/// Lua strings are byte strings. Converted from Lua they become `.string` when they are valid
/// UTF-8 (anything else is a conversion error; read raw bytes with `LuaArguments.bytes`).
/// Towards Lua, `.bytes` passes any bytes unchanged (a serial frame, a Modbus PDU).
public enum LuaValue: Sendable, Equatable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case bytes([UInt8])
    case array([LuaValue])
    case table([String: LuaValue])
}
