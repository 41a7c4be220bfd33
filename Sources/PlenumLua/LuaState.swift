internal import CPlenumLua
import FoundationEssentials
import Glibc

/// One Lua 5.4 interpreter: owns its `lua_State*`, its limits and its host functions.
///
/// Not thread-safe and deliberately not `Sendable`: a state is created, used and destroyed by
/// one thread (a device's). The only cross-thread operation is `stopHandle.requestStop()`.
///
/// Every call into Lua runs under `lua_pcall` with a traceback handler; errors come back as
/// `LuaError`. Host functions never raise from Swift (see `HostFunctionBox`).
public final class LuaState {
    let state: OpaquePointer
    private let limits: UnsafeMutablePointer<plenum_limits>
    private var hostFunctions: [HostFunctionBox] = []

    /// - Parameters:
    ///   - memoryLimit: cap on the Lua heap in bytes (0 = none).
    ///   - cpuGuard: seconds the script may run without calling a blocking host function
    ///     (nil = no guard).
    public init(memoryLimit: Int = 0, cpuGuard: Double? = nil) throws(LuaError) {
        limits = .allocate(capacity: 1)
        limits.initialize(to: plenum_limits())
        guard let state = plenum_newstate(limits) else {
            limits.deallocate()
            throw LuaError(code: .setup, message: "could not create a Lua state")
        }
        self.state = state
        if plenum_pcall_open_libraries(state) != LUA_OK {
            let message = Self.popMessage(state)
            lua_close(state)
            limits.deallocate()
            throw LuaError(code: .setup, message: message)
        }
        limits.pointee.cap = memoryLimit
        limits.pointee.guard_ns = cpuGuard.map { Int64($0 * 1e9) } ?? 0
        limits.pointee.slice_start_ns = plenum_monotonic_ns()
    }

    deinit {
        lua_close(state)
        limits.deallocate()
    }

    /// Bytes the Lua heap holds now, and the most it has held.
    public var memoryInUse: Int { limits.pointee.used }
    public var peakMemory: Int { limits.pointee.peak }

    /// A handle another thread may use to interrupt this state.
    public var stopHandle: LuaStopHandle { LuaStopHandle(limits: limits, owner: self) }

    /// Call when a blocking host function returns: the script has yielded, so its CPU-guard
    /// slice starts again.
    public func resetCPUGuard() { plenum_reset_slice(limits) }

    // MARK: - Globals and host functions

    /// Sets a global variable.
    public func setGlobal(_ name: String, _ value: LuaValue) {
        guard Self.push(value, onto: state) else { return }
        lua_setglobal(state, name)
    }

    /// Makes `function` callable from Lua as `table.name` (the table is created in globals when
    /// missing) or as the global `name` when `table` is nil.
    public func register(_ name: String, in table: String? = nil, _ function: @escaping HostFunction) {
        let box = HostFunctionBox(function)
        hostFunctions.append(box)
        if let table {
            if lua_getglobal(state, table) != LUA_TTABLE {
                plenum_pop(state, 1)
                plenum_newtable(state)
                lua_pushvalue(state, -1)
                lua_setglobal(state, table)
            }
            plenum_pushhostfunction(state, HostFunctionBox.thunk, Unmanaged.passUnretained(box).toOpaque())
            lua_setfield(state, -2, name)
            plenum_pop(state, 1)
        } else {
            plenum_pushhostfunction(state, HostFunctionBox.thunk, Unmanaged.passUnretained(box).toOpaque())
            lua_setglobal(state, name)
        }
    }

    // MARK: - Running code

    /// Compiles `source` (text only, never bytecode) and runs it; returns its first result.
    @discardableResult
    public func run(_ source: String, chunkName: String) throws(LuaError) -> LuaValue {
        try load(source, chunkName: chunkName)
        return try callLoaded(arguments: 0)
    }

    /// Compiles and runs a script file; `chunkName` is how errors name it (`chiller.lua`).
    @discardableResult
    public func runFile(_ path: String, chunkName: String) throws(LuaError) -> LuaValue {
        try run(Self.readSource(path), chunkName: chunkName)
    }

    /// Checks that `source` compiles, without running it.
    public static func compileCheck(_ source: String, chunkName: String) throws(LuaError) {
        let probe = try LuaState()
        try probe.load(source, chunkName: chunkName)
    }

    /// The contents of a script file as text.
    public static func readSource(_ path: String) throws(LuaError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LuaError(code: .load, message: "cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func load(_ source: String, chunkName: String) throws(LuaError) {
        let status = source.withCString { pointer in
            plenum_loadbuffer(state, pointer, strlen(pointer), "@" + chunkName)
        }
        if status != LUA_OK {
            throw LuaError(code: status == LUA_ERRMEM ? .memory : .load, message: Self.popMessage(state))
        }
    }

    /// Runs the function on the stack (below its arguments) under pcall with a traceback.
    private func callLoaded(arguments: Int32) throws(LuaError) -> LuaValue {
        limits.pointee.slice_start_ns = plenum_monotonic_ns()
        let base = lua_gettop(state) - arguments - 1
        let status = plenum_pcall(state, arguments, 1)
        defer { lua_settop(state, base) }
        guard status == LUA_OK else {
            let message = Self.popMessage(state)
            let code: LuaError.Code
            if limits.pointee.memory_tripped != 0 || status == LUA_ERRMEM {
                code = .memory
            } else if limits.pointee.guard_tripped != 0 {
                code = .cpuGuard
            } else if plenum_stop_requested(limits) != 0 && limits.pointee.killing != 0 {
                code = .stopped
            } else {
                code = .runtime
            }
            limits.pointee.memory_tripped = 0
            throw LuaError(code: code, message: message)
        }
        return (try? Self.convert(state, at: -1, path: "result")) ?? .nil
    }

    static func popMessage(_ state: OpaquePointer) -> String {
        let message = plenum_tostring(state, -1).map { String(cString: $0) } ?? "(error object is not a string)"
        plenum_pop(state, 1)
        return message
    }
}

/// Lets another thread interrupt a `LuaState` (stop or reload).
///
/// `@unchecked Sendable` is safe because the only thing it does is an atomic store into the
/// state's `plenum_limits.stop`, which the state's own thread reads atomically from the count
/// hook; the handle keeps the state (and so the limits memory) alive.
public struct LuaStopHandle: @unchecked Sendable {
    fileprivate let limits: UnsafeMutablePointer<plenum_limits>
    fileprivate let owner: AnyObject

    /// From any thread: the script is interrupted at its next hook check (every 1000
    /// instructions) and cannot catch the interruption with `pcall`.
    public func requestStop() { plenum_request_stop(limits) }

}

@available(*, unavailable)
extension LuaState: Sendable {}
