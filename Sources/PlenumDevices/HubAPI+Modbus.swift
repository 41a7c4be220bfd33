import PlenumLua

/// `hub.modbus`: Modbus TCP and RTU clients, a Modbus TCP server, and the register codec.
///
/// | name | what it does |
/// |---|---|
/// | `hub.modbus.tcp{host=, port=502, unit=1, timeout=1}` | a connection (connects on first use) |
/// | `hub.modbus.rtu{port=, baud=9600, parity="none", data_bits=8, stop_bits=1, unit=1, timeout=1}` | a connection on a serial line |
/// | `conn:read_holding/read_input(addr, count)` | 1…125 registers, a list of integers 0…65535 (blocking) |
/// | `conn:read_coils/read_discrete(addr, count)` | 1…2000 bits, a list of booleans (blocking) |
/// | `conn:write_register(addr, v)`, `conn:write_registers(addr, {…})`, `conn:write_coil(addr, bool)` | writes (blocking) |
/// | `conn:close()` | closes it (also done when the script ends) |
/// | `hub.modbus.decode(regs, format [, index])`, `hub.modbus.encode(value, format)` | `RegisterCodec` |
/// | `hub.modbus.serve{port=, unit=1, host="127.0.0.1", holding=, input=, coils=, discrete=, max_connections=8}` | a server; `srv.port`, `srv:set(table, addr, values)`, `srv:get(table, addr, count)`, `srv:close()` |
///
/// Failures are Lua errors at the script's call site: `modbus <kind>: …` (see `ModbusError`) or
/// `bad argument #n to '<method>' (…)`. The blocking calls count as blocking for the CPU guard
/// and are interrupted when the device is stopped.
extension HubAPI {
    static func registerModbus(in state: LuaState, context: DeviceContext) throws(LuaError) {
        let session = ModbusSession(signal: context.signal, logger: context.logger)
        let table = "__plenum_modbus"
        state.register("tcp", in: table) { args in session.openTCP(args) }
        state.register("rtu", in: table) { args in session.openRTU(args) }
        state.register("close", in: table) { args in session.perform(.close, args) }
        for request: ModbusSession.Request in [
            .holding, .input, .coils, .discrete, .writeRegister, .writeRegisters, .writeCoil,
        ] {
            registerBlocking(request.method, in: table, state: state, context: context) { _, args in
                session.perform(request, args)
            }
        }
        state.register("serve", in: table) { args in session.serve(args) }
        for method in ["set", "get", "close"] {
            state.register(method, in: "__plenum_modbus_server") { args in session.serverCall(method, args) }
        }
        state.register("decode", in: table) { args in ModbusValues.decode(args) }
        state.register("encode", in: table) { args in ModbusValues.encode(args) }
        try state.run(modbusPrelude, chunkName: "=hub.modbus")
    }

    /// Connection and server objects; errors raised with level 2, at the script's call.
    private static let modbusPrelude = """
        local m, s = __plenum_modbus, __plenum_modbus_server
        __plenum_modbus, __plenum_modbus_server = nil, nil
        local function id(self) return type(self) == "table" and rawget(self, "__id") or nil end
        local function options(o)
          if type(o) ~= "table" then return o end
          local copy = {}
          for k, v in pairs(o) do if k ~= "timeout" then copy[k] = v end end
          return copy, o.timeout
        end
        local Connection = {}
        Connection.__index = Connection
        Connection.__name = "modbus connection"
        for _, name in ipairs({ "read_holding", "read_input", "read_coils", "read_discrete",
                                "write_register", "write_registers", "write_coil", "close" }) do
          local f = m[name] or m.close
          Connection[name] = function(self, a, b)
            local result, err = f(id(self), a, b)
            if result == nil then error(err, 2) end
            return result
          end
        end
        local Server = {}
        Server.__index = Server
        Server.__name = "modbus server"
        for _, name in ipairs({ "set", "get", "close" }) do
          local f = s[name]
          Server[name] = function(self, a, b, c)
            local result, err = f(id(self), a, b, c)
            if result == nil then error(err, 2) end
            return result
          end
        end
        local function open(f)
          return function(o)
            local copy, timeout = options(o)
            local handle, err = f(copy, timeout)
            if handle == nil then error(err, 2) end
            return setmetatable({ __id = handle, endpoint = o.host or o.port }, Connection)
          end
        end
        hub.modbus = {
          tcp = open(m.tcp),
          rtu = open(m.rtu),
          decode = m.decode,
          encode = m.encode,
          serve = function(o)
            local handle, port = m.serve(o)
            if handle == nil then error(port, 2) end
            return setmetatable({ __id = handle, port = port }, Server)
          end,
        }
        """
}
