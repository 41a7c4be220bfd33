import FoundationEssentials
import Logging
import PlenumCore
import PlenumLua

/// The `hub` table every device script programs against — registered here, in one place.
///
/// Sandbox: `LuaSandbox.allowList` (PlenumLua) decides which standard globals a script keeps;
/// this file adds exactly these:
///
/// | name | what it does |
/// |---|---|
/// | `hub.publish(path, value)` | publish to an absolute path or one relative to the device prefix; returns the version |
/// | `hub.read(path)` | `value, version, ts` of any channel (nil when it has none) |
/// | `hub.wait(target, since, timeout)` | block until a channel or pattern has a version newer than `since`; returns the changes |
/// | `hub.sleep(seconds)` | returns false (early) when the device is stopping |
/// | `hub.commands(timeout)` | block until clients' writes arrive; returns them (`DeviceContext+Commands.swift`) |
/// | `hub.ack(cmd, ok, message)` | answer a write: applied, or refused with a reason |
/// | `hub.time()`, `hub.monotonic()` | wall-clock and monotonic seconds |
/// | `hub.log.debug/info/warn/error(...)` | the hub's log, tagged with the device (`print` is `hub.log.info`) |
/// | `hub.params`, `hub.device` | the device's hub.yaml params; `{name=, prefix=}` |
/// | `hub.serial.open(path, options)` | a serial port with `read_line`, `read`, `write`, `close` |
/// | `hub.modbus.tcp/rtu/serve/decode/encode` | Modbus clients and a server (`HubAPI+Modbus.swift`) |
/// | `hub.bacnet.open(options)` | a BACnet/IP client (`BACnetHostAPI`) |
enum HubAPI {
    static func register(in state: LuaState, context: DeviceContext) throws(LuaError) {
        state.register("publish", in: "hub") { [unowned context] args in context.publish(args) }
        state.register("read", in: "hub") { [unowned context] args in context.read(args) }
        registerBlocking("wait", in: "hub", state: state, context: context) { $0.wait($1) }
        registerBlocking("sleep", in: "hub", state: state, context: context) { $0.sleep($1) }
        registerBlocking("commands", in: "hub", state: state, context: context) { $0.commands($1) }
        state.register("ack", in: "hub") { [unowned context] args in context.ack(args) }
        state.register("time", in: "hub") { _ in .one(.number(Date().timeIntervalSince1970)) }
        state.register("monotonic", in: "hub") { _ in .one(.number(Double(Deadline.monotonicNanoseconds()) / 1e9)) }
        for level in ["debug", "info", "warn", "error"] {
            state.register(level, in: "__plenum_log") { [unowned context] args in context.log(level, args) }
        }
        state.register("open", in: "__plenum_serial") { [unowned context] args in context.serialOpen(args) }
        registerBlocking("read_line", in: "__plenum_serial", state: state, context: context) { $0.serialReadLine($1) }
        registerBlocking("read", in: "__plenum_serial", state: state, context: context) { $0.serialRead($1) }
        state.register("write", in: "__plenum_serial") { [unowned context] args in context.serialWrite(args) }
        state.register("close", in: "__plenum_serial") { [unowned context] args in context.serialClose(args) }
        let spec = context.spec
        state.register("params", in: "__plenum_init") { _ in .one(LuaValue(spec.params)) }
        state.register("device", in: "__plenum_init") { _ in
            .one(.table(["name": .string(spec.name), "prefix": .string(spec.prefix.string)]))
        }
        try state.run(prelude, chunkName: "=hub")
        try registerModbus(in: state, context: context)
        try BACnetHostAPI.register(in: state, context: context, blocking: registerBlocking)
    }

    /// A host function that may block: before it, the script's publishes and heap size are
    /// reported; after it, the CPU guard's slice starts again (the script has yielded).
    static func registerBlocking(
        _ name: String,
        in table: String,
        state: LuaState,
        context: DeviceContext,
        _ body: @escaping (DeviceContext, LuaArguments) -> HostReturn
    ) {
        state.register(name, in: table) { [unowned context, unowned state] args in
            context.flushMetrics(memoryInUse: state.memoryInUse)
            return state.blocking { body(context, args) }
        }
    }

    /// The parts of the API that read best in Lua: the log table, `print`, serial port objects,
    /// `params` and `device`.
    private static let prelude = """
        local log, serial, init = __plenum_log, __plenum_serial, __plenum_init
        __plenum_log, __plenum_serial, __plenum_init = nil, nil, nil
        hub.log = log
        hub.params = init.params()
        hub.device = init.device()
        print = function(...)
          local parts = table.pack(...)
          for i = 1, parts.n do parts[i] = tostring(parts[i]) end
          log.info(table.concat(parts, "\\t"))
        end
        local Port = {}
        Port.__index = Port
        function Port:read_line(timeout) return serial.read_line(self.id, timeout) end
        function Port:read(count, timeout) return serial.read(self.id, count, timeout) end
        function Port:write(data) return serial.write(self.id, data) end
        function Port:close() return serial.close(self.id) end
        hub.serial = {
          open = function(path, options)
            local id = serial.open(path, options)
            return setmetatable({ id = id, path = path }, Port)
          end,
        }
        """
}
