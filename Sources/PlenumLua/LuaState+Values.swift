internal import CPlenumLua

/// Conversion between Lua stack values and `LuaValue`, without ever raising a Lua error:
/// only raw table access, stack space checked before pushing.
extension LuaState {
    static let maxDepth = 32

    /// Converts the value at `index`. `path` names it in errors (`value.readings[3]`).
    static func convert(_ state: OpaquePointer, at index: Int32, path: String) throws(LuaConversionError) -> LuaValue {
        var visiting: Set<UnsafeRawPointer> = []
        let top = lua_gettop(state)
        do {
            return try convert(state, at: lua_absindex(state, index), path: path, depth: 0, visiting: &visiting)
        } catch {
            lua_settop(state, top)
            throw error
        }
    }

    private static func convert(
        _ state: OpaquePointer,
        at index: Int32,
        path: String,
        depth: Int,
        visiting: inout Set<UnsafeRawPointer>
    ) throws(LuaConversionError) -> LuaValue {
        switch lua_type(state, index) {
        case LUA_TNIL, LUA_TNONE:
            return .nil
        case LUA_TBOOLEAN:
            return .boolean(lua_toboolean(state, index) != 0)
        case LUA_TNUMBER:
            if plenum_isinteger(state, index) != 0 { return .integer(plenum_tointeger(state, index)) }
            let d = plenum_tonumber(state, index)
            guard d.isFinite else {
                let shown = d.isNaN ? "NaN" : (d > 0 ? "inf" : "-inf")
                throw LuaConversionError(
                    path: path,
                    reason: "\(shown) is not a finite number (JSON has no NaN or infinity)"
                )
            }
            return .number(d)
        case LUA_TSTRING:
            var length = 0
            let pointer = lua_tolstring(state, index, &length)!
            let bytes = UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self)
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw LuaConversionError(
                    path: path,
                    reason:
                        "string is not valid UTF-8 (JSON strings must be UTF-8; send binary data as a list of byte values)"
                )
            }
            return .string(string)
        case LUA_TTABLE:
            return try convertTable(state, at: index, path: path, depth: depth, visiting: &visiting)
        default:
            let type = String(cString: lua_typename(state, lua_type(state, index)))
            throw LuaConversionError(
                path: path,
                reason: "a \(type) cannot be converted (only nil, booleans, numbers, strings and tables)"
            )
        }
    }

    private static func convertTable(
        _ state: OpaquePointer,
        at index: Int32,
        path: String,
        depth: Int,
        visiting: inout Set<UnsafeRawPointer>
    ) throws(LuaConversionError) -> LuaValue {
        guard depth < maxDepth else {
            throw LuaConversionError(path: path, reason: "nested deeper than \(maxDepth) tables")
        }
        let identity = lua_topointer(state, index)!
        guard visiting.insert(identity).inserted else {
            throw LuaConversionError(path: path, reason: "the table contains itself (a cycle)")
        }
        defer { visiting.remove(identity) }
        guard lua_checkstack(state, 3) != 0 else {
            throw LuaConversionError(path: path, reason: "out of Lua stack space")
        }
        let length = Int(lua_rawlen(state, index))
        var count = 0
        var allStrings = true
        lua_pushnil(state)
        while lua_next(state, index) != 0 {
            count += 1
            if lua_type(state, -2) != LUA_TSTRING { allStrings = false }
            plenum_pop(state, 1)
        }
        if count > 0 && count == length {
            var array: [LuaValue] = []
            array.reserveCapacity(length)
            for i in 1...length {
                lua_rawgeti(state, index, lua_Integer(i))
                defer { plenum_pop(state, 1) }
                array.append(
                    try convert(
                        state,
                        at: lua_gettop(state),
                        path: "\(path)[\(i)]",
                        depth: depth + 1,
                        visiting: &visiting
                    )
                )
            }
            return .array(array)
        }
        guard allStrings else {
            throw LuaConversionError(
                path: path,
                reason: "a table must be a list (keys 1..n) or have only string keys"
            )
        }
        var table: [String: LuaValue] = [:]
        lua_pushnil(state)
        while lua_next(state, index) != 0 {
            var length = 0
            let pointer = lua_tolstring(state, -2, &length)!
            let key = String(
                decoding: UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self),
                as: UTF8.self
            )
            table[key] = try convert(
                state,
                at: lua_gettop(state),
                path: "\(path).\(key)",
                depth: depth + 1,
                visiting: &visiting
            )
            plenum_pop(state, 1)
        }
        return .table(table)
    }
}
