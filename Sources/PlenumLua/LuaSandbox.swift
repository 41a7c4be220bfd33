import FoundationEssentials

/// The sandbox every script runs in: an allow-list of the standard library, `load` limited to
/// text, `require` limited to one library directory, and no finalizers.
///
/// Allowed: the base library without `dofile`, `loadfile` and bytecode loading; `string`
/// (without `string.dump`), `table`, `math`, `utf8`, `coroutine`; `os.time`, `os.clock`,
/// `os.date`, `os.difftime`; `debug.traceback`. Nothing else: no `io`, no `os.execute`,
/// `os.exit`, `os.getenv`, `os.remove`, no `package`, no `debug` beyond `traceback`.
///
/// `setmetatable` refuses a metatable with a `__gc` field: Lua runs finalizers with its debug
/// hooks switched off, so neither the CPU guard nor a stop request could interrupt one. (Lua
/// marks an object for finalization only when its metatable has `__gc` at `setmetatable` time,
/// so checking there is complete.)
public enum LuaSandbox {
    /// The globals a script may see, with the members allowed for library tables.
    public static let allowList: [String: [String]?] = [
        "assert": nil, "error": nil, "getmetatable": nil, "ipairs": nil, "load": nil, "next": nil, "pairs": nil,
        "pcall": nil, "print": nil, "rawequal": nil, "rawget": nil, "rawlen": nil, "rawset": nil, "select": nil,
        "setmetatable": nil, "tonumber": nil, "tostring": nil, "type": nil, "xpcall": nil, "collectgarbage": nil,
        "_G": nil, "_VERSION": nil, "warn": nil,
        "string": [
            "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack", "packsize", "rep",
            "reverse", "sub", "unpack", "upper",
        ],
        "table": ["concat", "insert", "move", "pack", "remove", "sort", "unpack"],
        "math": [
            "abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max", "maxinteger", "min",
            "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan", "tointeger", "type",
            "ult", "atan", "asin", "acos",
        ],
        "utf8": ["char", "charpattern", "codes", "codepoint", "len", "offset"],
        "coroutine": ["close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield"],
        "os": ["time", "clock", "date", "difftime"],
        "debug": ["traceback"],
    ]

    /// Applies the allow-list to `state` and installs `require` for modules in `libraryPath`.
    public static func apply(to state: LuaState, libraryPath: String?) throws(LuaError) {
        var lines = ["local allowed = {"]
        for (name, members) in allowList.sorted(by: { $0.key < $1.key }) {
            if let members {
                lines.append("  \(name) = {" + members.map { "\($0) = true" }.joined(separator: ", ") + "},")
            } else {
                lines.append("  \(name) = true,")
            }
        }
        lines.append("}")
        try state.run(lines.joined(separator: "\n") + "\n" + prelude, chunkName: "=sandbox")
        state.register("__plenum_load_module") { arguments in
            guard let name = arguments.string(1) else {
                return .error("bad argument #1 to 'require' (string expected)")
            }
            return loadModule(name, from: libraryPath)
        }
        try state.run(requireSource, chunkName: "=sandbox")
    }

    /// Finds `name` (`helpers` or `sim.noise`) in the library directory and returns its source
    /// and chunk name, or nil and a message naming what was refused.
    static func loadModule(_ name: String, from libraryPath: String?) -> HostReturn {
        let valid =
            !name.isEmpty
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
                    || c == 0x2E
                    || c == 0x2D
            } && !name.contains("..") && !name.hasPrefix(".")
        guard valid else {
            return .many([
                .nil, .string("module '\(name)' not allowed: names may hold letters, digits, '_', '-' and '.' only"),
            ])
        }
        guard let libraryPath else {
            return .many([.nil, .string("module '\(name)' not found: no library directory")])
        }
        let file = libraryPath + "/" + String(name.map { $0 == "." ? "/" : $0 }) + ".lua"
        guard let data = FileManager.default.contents(atPath: file) else {
            return .many([.nil, .string("module '\(name)' not found in \(libraryPath)")])
        }
        return .many([.bytes([UInt8](data)), .string("lib/" + name + ".lua")])
    }

    /// Removes everything not allowed, restricts `load` to text chunks and refuses finalizers.
    private static let prelude = """
        local G = _G
        for name in pairs(G) do
          if not allowed[name] then G[name] = nil end
        end
        for name, members in pairs(allowed) do
          if type(members) == "table" and type(G[name]) == "table" then
            for key in pairs(G[name]) do
              if not members[key] then G[name][key] = nil end
            end
          end
        end
        local raw_load = load
        G.load = function(chunk, name, mode, ...)
          if mode ~= nil and mode ~= "t" then
            error("load: only text chunks are allowed (mode 't')", 2)
          end
          if type(chunk) == "string" and chunk:byte(1) == 27 then
            error("load: binary chunks are not allowed", 2)
          end
          if select("#", ...) > 0 then return raw_load(chunk, name, "t", ...) end
          return raw_load(chunk, name, "t")
        end
        local raw_setmetatable, raw_rawget, raw_type, raw_error = setmetatable, rawget, type, error
        G.setmetatable = function(object, metatable)
          if raw_type(metatable) == "table" and raw_rawget(metatable, "__gc") ~= nil then
            raw_error("setmetatable: __gc finalizers are not allowed in device scripts "
              .. "(they run where the CPU guard cannot stop them)", 2)
          end
          return raw_setmetatable(object, metatable)
        end
        """

    /// `require` that only reads `<library>/<name>.lua`, caching each module's result.
    private static let requireSource = """
        local loader = __plenum_load_module
        __plenum_load_module = nil
        local raw_load = load
        local loaded = {}
        function require(name)
          if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
          local cached = loaded[name]
          if cached ~= nil then return cached end
          local source, chunkname = loader(name)
          if source == nil then error(chunkname, 2) end
          local chunk, err = raw_load(source, "@" .. chunkname, "t")
          if not chunk then error(err, 2) end
          local result = chunk(name)
          if result == nil then result = true end
          loaded[name] = result
          return result
        end
        """
}
