import PlenumBACnet
import PlenumCore
import PlenumLua

/// `hub.bacnet` — BACnet/IP clients for a device script (see docs/bacnet.md).
///
/// | call | what it does |
/// |---|---|
/// | `hub.bacnet.open{port=, bind=, broadcast=, timeout=, retries=, queue=, process_id=}` | a client on its own UDP socket |
/// | `c:who_is{low=, high=, target=, timeout=}` | the devices that answer, `{device=, address=, max_apdu=, segmentation=, vendor=}` |
/// | `c:read(device, object, property[, index])` | the value (a list for list properties) |
/// | `c:read_multiple(device, {{object, property[, index]}, …})` | `{value=}` or `{error=}` per entry |
/// | `c:write(device, object, property, value[, priority[, index]])` | true |
/// | `c:relinquish(device, object, property, priority)` | true (writes NULL at `priority`) |
/// | `c:subscribe_cov(device, object, {lifetime=, confirmed=})` | `{process_id=, lifetime=, renew_in=}` |
/// | `c:unsubscribe_cov(device, object)` | true |
/// | `c:next_notification(timeout)` | a notification, or `nil, "timeout"` / `nil, "stopping"` |
/// | `c:stats()`, `c:close()` | counters; closes the socket (also done when the script ends) |
///
/// `device` is a device instance (resolved with Who-Is, cached) or an `"ip:port"` string.
/// Failures are Lua errors starting `bacnet: timeout:`, `bacnet: error: <class>/<code>`,
/// `bacnet: reject: <reason>`, `bacnet: abort: <reason>`, `bacnet: segmentation:`, …
/// A device stop interrupts a blocking call at once (the client's `BACnetInterrupt`, run as a
/// stop action). One instance per script run; its clients' sockets close when the script's state
/// is released.
final class BACnetHostAPI {
    /// At most this many clients open at once in one script.
    static let maxClients = 8

    let signal: DeviceSignal
    var clients: [Int: BACnetClient] = [:]
    var processIDs: [Int: UInt32] = [:]
    /// Per client: the stop action that interrupts its blocking calls.
    private var stopTokens: [Int: Int] = [:]
    private var nextID = 1

    init(signal: DeviceSignal) { self.signal = signal }

    deinit {
        for token in stopTokens.values { signal.removeStopAction(token) }
        for client in clients.values { client.close() }
    }

    typealias Blocking = (
        String, String, LuaState, DeviceContext, @escaping (DeviceContext, LuaArguments) -> HostReturn
    )
        -> Void

    /// Registers `hub.bacnet`; `blocking` is `HubAPI`'s way of registering calls that block.
    static func register(in state: LuaState, context: DeviceContext, blocking: Blocking) throws(LuaError) {
        let api = BACnetHostAPI(signal: context.signal)
        let table = "__plenum_bacnet"
        state.register("open", in: table) { args in api.open(args) }
        state.register("close", in: table) { args in api.close(args) }
        state.register("stats", in: table) { args in api.stats(args) }
        blocking("who_is", table, state, context) { _, args in api.whoIs(args) }
        blocking("read", table, state, context) { _, args in api.read(args) }
        blocking("read_multiple", table, state, context) { _, args in api.readMultiple(args) }
        blocking("write", table, state, context) { _, args in api.write(args, relinquish: false) }
        blocking("relinquish", table, state, context) { _, args in api.write(args, relinquish: true) }
        blocking("subscribe_cov", table, state, context) { _, args in api.subscribe(args, cancel: false) }
        blocking("unsubscribe_cov", table, state, context) { _, args in api.subscribe(args, cancel: true) }
        blocking("next_notification", table, state, context) { _, args in api.nextNotification(args) }
        try state.run(prelude, chunkName: "=hub.bacnet")
    }

    // MARK: - Open and close

    func open(_ args: LuaArguments) -> HostReturn {
        guard clients.count < Self.maxClients else {
            return .error("hub.bacnet.open: \(Self.maxClients) clients are already open in this script; close one")
        }
        var options = BACnetClient.Options()
        var port = BACnetIPAddress.standardPort
        var bind = "0.0.0.0"
        var processID: UInt32 = 1
        var table: [String: LuaValue] = [:]
        if !args.isNil(1) {
            guard case .table(let fields)? = try? args.value(1) else {
                return .error("bad argument #1 to 'hub.bacnet.open' (options table expected, got \(args.typeName(1)))")
            }
            table = fields
        }
        for (key, value) in table {
            switch (key, value) {
            case ("port", .integer(let v)) where (0...65_535).contains(v): port = UInt16(v)
            case ("bind", .string(let v)): bind = v
            case ("broadcast", .string(let v)):
                guard let address = BACnetIPAddress(v) else {
                    return .error("hub.bacnet.open: option 'broadcast' must be \"a.b.c.d[:port]\", got '\(v)'")
                }
                options.broadcast = address
            case ("timeout", .integer(let v)): options.timeout = Double(v)
            case ("timeout", .number(let v)): options.timeout = v
            case ("retries", .integer(let v)) where (0...10).contains(v): options.retries = Int(v)
            case ("queue", .integer(let v)) where (1...100_000).contains(v): options.queueLimit = Int(v)
            case ("process_id", .integer(let v)) where (0...Int64(UInt32.max)).contains(v): processID = UInt32(v)
            default:
                let known = "port (0…65535), bind, broadcast, timeout, retries (0…10), queue (1…100000), process_id"
                return .error("hub.bacnet.open: option '\(key)' is unknown or out of range (\(known))")
            }
        }
        do {
            let client = try BACnetClient(host: bind, port: port, options: options)
            let id = nextID
            nextID += 1
            clients[id] = client
            let interrupt = client.interrupt
            stopTokens[id] = signal.addStopAction { interrupt.interrupt() }
            processIDs[id] = processID
            return .many([.integer(Int64(id)), .integer(Int64(client.localPort))])
        } catch {
            return .error("hub.bacnet.open: \(error.message)")
        }
    }

    func close(_ args: LuaArguments) -> HostReturn {
        if let id = args.integer(1), let client = clients.removeValue(forKey: Int(id)) {
            if let token = stopTokens.removeValue(forKey: Int(id)) { signal.removeStopAction(token) }
            client.close()
        }
        return .none
    }

    func stats(_ args: LuaArguments) -> HostReturn {
        guard let client = client(args) else { return .error("hub.bacnet: the client is closed") }
        return .one(
            .table([
                "dropped": .integer(Int64(client.droppedNotifications)),
                "malformed": .integer(Int64(client.malformedDatagrams)),
                "queued": .integer(Int64(client.queuedNotifications)),
                "port": .integer(Int64(client.localPort)),
            ])
        )
    }

    func client(_ args: LuaArguments) -> BACnetClient? {
        guard let id = args.integer(1), let client = clients[Int(id)], !client.isClosed else { return nil }
        return client
    }

    /// The Lua side: client objects, `hub.bacnet.null`, and NULL markers turned into it.
    private static let prelude = """
        local bacnet = __plenum_bacnet
        __plenum_bacnet = nil
        local NULL = setmetatable({}, {
          __name = "bacnet.null",
          __tostring = function() return "bacnet.null" end,
          __newindex = function() error("hub.bacnet.null is read-only", 2) end,
        })
        local MARK = "__bacnet_null"
        local function restore(v)
          if type(v) == "table" then
            if v[MARK] then return NULL end
            for k, x in pairs(v) do
              if type(x) == "table" then v[k] = restore(x) end
            end
          end
          return v
        end
        local function mark(v)
          if v == NULL then return { [MARK] = true } end
          if type(v) == "table" and getmetatable(v) == nil then
            local out = {}
            for k, x in pairs(v) do out[k] = mark(x) end
            return out
          end
          return v
        end
        local Client = {}
        Client.__index = Client
        Client.__name = "bacnet.client"
        function Client:who_is(options) return restore(bacnet.who_is(self.id, options)) end
        function Client:read(device, object, property, index)
          return restore(bacnet.read(self.id, device, object, property, index))
        end
        function Client:read_multiple(device, list) return restore(bacnet.read_multiple(self.id, device, list)) end
        function Client:write(device, object, property, value, priority, index)
          return bacnet.write(self.id, device, object, property, mark(value), priority, index)
        end
        function Client:relinquish(device, object, property, priority)
          return bacnet.relinquish(self.id, device, object, property, priority)
        end
        function Client:subscribe_cov(device, object, options)
          return bacnet.subscribe_cov(self.id, device, object, options)
        end
        function Client:unsubscribe_cov(device, object) return bacnet.unsubscribe_cov(self.id, device, object) end
        function Client:next_notification(timeout)
          local n, why = bacnet.next_notification(self.id, timeout)
          return restore(n), why
        end
        function Client:stats() return bacnet.stats(self.id) end
        function Client:close() return bacnet.close(self.id) end
        Client.__close = Client.close
        hub.bacnet = {
          null = NULL,
          open = function(options)
            local id, port = bacnet.open(options)
            return setmetatable({ id = id, port = port }, Client)
          end,
        }
        """
}
