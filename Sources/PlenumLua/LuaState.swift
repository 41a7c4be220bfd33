internal import CPlenumLua
import FoundationEssentials

/// One Lua 5.4 interpreter: owns its `lua_State*`, its limits and its host functions.
///
/// Not thread-safe and deliberately not `Sendable`: a state is created, used and destroyed by
/// one thread (a device's). The only cross-thread operations go through `stopHandle`.
///
/// Once the CPU guard has fired or a stop was requested, the state stays interrupted: every
/// later check raises again, so callers discard it (a device starts the next run in a fresh one).
///
/// Scripts run in a coroutine (`plenum_run`), so an error of any kind — including a refused
/// allocation, which Lua raises without calling a message handler — is reported with
/// `file:line:` and the traceback of where it happened. Nothing here raises a Lua error across
/// Swift: Swift calls only non-raising Lua functions and the protected entry points of
/// CPlenumLua, and host functions hand their results to the C trampoline (`HostFunctionBox`).
public final class LuaState {
    let state: OpaquePointer
    private let limits: UnsafeMutablePointer<plenum_limits>
    private var hostFunctions: [HostFunctionBox] = []
    /// A registration or global that could not be made (out of memory): `run` reports it.
    private var pendingError: LuaError?

    /// - Parameters:
    ///   - memoryLimit: cap on the Lua heap in bytes (0 = none), counting everything the state
    ///     allocates, including values host functions return.
    ///   - cpuGuard: seconds the script may run without calling a blocking host function
    ///     (nil or 0 = no guard). NaN, negative and infinite values mean no guard too.
    public convenience init(memoryLimit: Int = 0, cpuGuard: Double? = nil) throws(LuaError) {
        try self.init(memoryLimit: memoryLimit, cpuGuard: cpuGuard, nativePatterns: false)
    }

    /// `nativePatterns`: keep Lua's own `string.find`/`match`/`gmatch`/`gsub`, which the CPU
    /// guard cannot interrupt (tests compare the two).
    init(memoryLimit: Int, cpuGuard: Double?, nativePatterns: Bool) throws(LuaError) {
        limits = .allocate(capacity: 1)
        limits.initialize(to: plenum_limits())
        guard let state = plenum_newstate(limits) else {
            limits.deallocate()
            throw LuaError(code: .setup, message: "could not create a Lua state")
        }
        self.state = state
        if plenum_open_libraries(state, nativePatterns ? 1 : 0) != LUA_OK {
            let message = Self.popMessage(state)
            lua_close(state)
            limits.deallocate()
            throw LuaError(code: .setup, message: message)
        }
        plenum_set_limits(limits, max(0, memoryLimit), Self.nanoseconds(cpuGuard))
    }

    deinit {
        lua_close(state)
        limits.deallocate()
    }

    /// The CPU guard in nanoseconds, 0 for none; at least 1 ns for any positive duration.
    private static func nanoseconds(_ seconds: Double?) -> Int64 {
        guard let seconds, seconds > 0, seconds < 9e9 else { return 0 }
        return max(1, Int64(seconds * 1e9))
    }

    /// Bytes the Lua heap holds now, and the most it has held.
    public var memoryInUse: Int { limits.pointee.used }
    public var peakMemory: Int { limits.pointee.peak }

    /// A handle another thread may use to interrupt this state or see what it is doing.
    public var stopHandle: LuaStopHandle { LuaStopHandle(limits: limits, owner: self) }

    /// Runs `body`, a host call that blocks (sleeps, waits for data or a device): meanwhile the
    /// state counts as waiting, not running; afterwards the CPU guard's slice starts again.
    public func blocking<T>(_ body: () -> T) -> T {
        plenum_enter_blocking(limits)
        defer { plenum_leave_blocking(limits) }
        return body()
    }

    // MARK: - Globals and host functions

    /// Sets a global variable.
    public func setGlobal(_ name: String, _ value: LuaValue) {
        let encoded = LuaValueEncoding.encode([value])
        let status = encoded.withUnsafeBufferPointer { plenum_set_global(state, name, $0.baseAddress, $0.count) }
        if status != LUA_OK { failLater(status) }
    }

    /// Makes `function` callable from Lua as `table.name` (the table is created in globals when
    /// missing) or as the global `name` when `table` is nil.
    public func register(_ name: String, in table: String? = nil, _ function: @escaping HostFunction) {
        let box = HostFunctionBox(function)
        hostFunctions.append(box)
        let context = Unmanaged.passUnretained(box).toOpaque()
        let status: Int32
        if let table {
            status = plenum_register(state, table, name, HostFunctionBox.thunk, context)
        } else {
            status = plenum_register(state, nil, name, HostFunctionBox.thunk, context)
        }
        if status != LUA_OK { failLater(status) }
    }

    private func failLater(_ status: Int32) {
        let message = Self.popMessage(state)
        if pendingError == nil {
            pendingError = LuaError(code: status == LUA_ERRMEM ? .memory : .setup, message: message)
        }
    }

    // MARK: - Running code

    /// Compiles `source` (text only, never bytecode) and runs it; returns its first result.
    @discardableResult
    public func run(_ source: String, chunkName: String) throws(LuaError) -> LuaValue {
        try run(source: Array(source.utf8), chunkName: chunkName)
    }

    /// Compiles `source`, taken as bytes by length (a NUL inside does not end it), and runs it.
    @discardableResult
    public func run(source: [UInt8], chunkName: String) throws(LuaError) -> LuaValue {
        if let pendingError {
            self.pendingError = nil
            throw pendingError
        }
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        try Self.load(source, chunkName: chunkName, into: state)
        var kind: Int32 = 0
        guard plenum_run(state, &kind) == LUA_OK else {
            throw LuaError(code: Self.code(kind), message: Self.popMessage(state))
        }
        return (try? Self.convert(state, at: -1, path: "result")) ?? .nil
    }

    /// Compiles and runs a script file; `chunkName` is how errors name it (`chiller.lua`).
    @discardableResult
    public func runFile(_ path: String, chunkName: String) throws(LuaError) -> LuaValue {
        try run(source: Self.readSource(path), chunkName: chunkName)
    }

    /// Checks that `source` compiles, without running it.
    public static func compileCheck(_ source: [UInt8], chunkName: String) throws(LuaError) {
        let probe = try LuaState()
        let base = lua_gettop(probe.state)
        defer { lua_settop(probe.state, base) }
        try load(source, chunkName: chunkName, into: probe.state)
    }

    public static func compileCheck(_ source: String, chunkName: String) throws(LuaError) {
        try compileCheck(Array(source.utf8), chunkName: chunkName)
    }

    /// The bytes of a script file.
    public static func readSource(_ path: String) throws(LuaError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LuaError(code: .load, message: "cannot read \(path)")
        }
        return [UInt8](data)
    }

    private static func load(_ source: [UInt8], chunkName: String, into state: OpaquePointer) throws(LuaError) {
        // "=name" is taken literally (the hub's own chunks); anything else is a file name.
        let name = chunkName.hasPrefix("=") ? chunkName : "@" + chunkName
        let status = source.withUnsafeBytes { bytes in
            plenum_load(state, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, name)
        }
        if status != LUA_OK {
            throw LuaError(code: status == LUA_ERRMEM ? .memory : .load, message: popMessage(state))
        }
    }

    private static func code(_ kind: Int32) -> LuaError.Code {
        switch Int(kind) {
        case PLENUM_ERROR_MEMORY: .memory
        case PLENUM_ERROR_GUARD: .cpuGuard
        case PLENUM_ERROR_STOPPED: .stopped
        default: .runtime
        }
    }

    /// The error message on top of the stack (popped). Strings are read without conversion, so
    /// this never allocates in Lua.
    static func popMessage(_ state: OpaquePointer) -> String {
        defer { plenum_pop(state, 1) }
        guard lua_type(state, -1) == LUA_TSTRING else { return "(error object is not a string)" }
        var length = 0
        guard let pointer = lua_tolstring(state, -1, &length) else { return "(error object is not a string)" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}

/// What a state is doing, as another thread sees it.
public struct LuaActivity: Sendable, Equatable {
    /// Script code is running (not between runs).
    public var isRunning: Bool
    /// It is inside a blocking host call (`LuaState.blocking`).
    public var isBlocking: Bool
    /// Seconds since the script last started running without blocking.
    public var secondsSinceYield: Double
    /// `chunk.lua:12`: where the count hook last saw the script (every 1000 instructions), when
    /// known. Inside a long C function this is the Lua line that called it, or one just before.
    public var lastPosition: String?
}

/// Lets another thread interrupt a `LuaState` (stop or reload) and watch it.
///
/// `@unchecked Sendable` is safe because it only reaches the state's `plenum_limits` through
/// `plenum_request_stop` and `plenum_read_activity`, which use atomic operations (and a
/// seqlock for the position) on fields the state's own thread writes atomically; the handle
/// keeps the state (and so the limits memory) alive.
public struct LuaStopHandle: @unchecked Sendable {
    fileprivate let limits: UnsafeMutablePointer<plenum_limits>
    fileprivate let owner: AnyObject

    /// From any thread: the script is interrupted at its next check (every 1000 instructions,
    /// and every few thousand steps of a pattern match) and cannot catch the interruption with
    /// `pcall`.
    public func requestStop() { plenum_request_stop(limits) }

    /// From any thread.
    public var activity: LuaActivity {
        var activity = plenum_activity()
        plenum_read_activity(limits, &activity)
        let now = plenum_monotonic_ns()
        let source = withUnsafeBytes(of: activity.source) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return LuaActivity(
            isRunning: activity.running != 0,
            isBlocking: activity.blocking != 0,
            secondsSinceYield: activity.running != 0 ? Double(max(0, now - activity.slice_start_ns)) / 1e9 : 0,
            lastPosition: activity.line > 0 && !source.isEmpty ? "\(source):\(activity.line)" : nil
        )
    }
}

@available(*, unavailable)
extension LuaState: Sendable {}
