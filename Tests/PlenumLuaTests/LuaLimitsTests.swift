import Foundation
import Synchronization
import Testing

@testable import PlenumLua

/// The memory cap, the CPU guard and stop requests where they used to be bypassed: values host
/// functions hand back, C functions (pattern matching), finalizers.
@Suite struct LuaLimitsTests {
    /// What `hub.read` of an 8 MB channel does: every call hands the script a fresh copy.
    @Test func hostFunctionResultsCountAgainstTheMemoryCap() throws {
        let lua = try LuaState(memoryLimit: 16 << 20)
        let big = [UInt8](repeating: 0x61, count: 1 << 20)
        lua.register("big") { _ in .one(.bytes(big)) }
        do {
            try lua.run("local keep = {}\nfor i = 1, 200 do\n  keep[i] = big()\nend", chunkName: "hoard.lua")
            Issue.record("no error")
        } catch {
            #expect(error.code == .memory)
            #expect(error.summary.hasPrefix("hoard.lua:3: not enough memory"))
            #expect(error.message.contains("stack traceback:"))
        }
        #expect(lua.peakMemory <= (16 << 20) + (64 << 10))
        // The state is intact and the cap still holds afterwards.
        #expect(try lua.run("collectgarbage(); return #big()", chunkName: "after.lua") == .integer(1 << 20))
        #expect(throws: LuaError.self) {
            try lua.run("local t = {} for i = 1, 100 do t[i] = big() end", chunkName: "again.lua")
        }
    }

    @Test func aResultTooLargeForTheCapIsACatchableError() throws {
        let lua = try LuaState(memoryLimit: 4 << 20)
        lua.register("huge") { _ in .one(.bytes([UInt8](repeating: 0, count: 8 << 20))) }
        let result = try lua.run("local ok, err = pcall(huge)\nreturn {ok = ok, err = err}", chunkName: "t.lua")
        #expect(
            result
                == .table([
                    "ok": .boolean(false),
                    "err": .string(
                        "not enough memory: this call's result does not fit under the script's memory limit"
                    ),
                ])
        )
    }

    /// Exponential backtracking in a C function: the guard reaches into the matcher.
    @Test(arguments: [
        "return string.rep('a', 30000):find('.-.-.-.-.-.-b')",
        "return string.rep('a', 30000):match('(.-)(.-)(.-)(.-)b')",
        "for w in string.rep('a', 30000):gmatch('a*a*a*a*a*b') do end",
        "return string.rep('a', 30000):gsub('.-.-.-.-b', 'x')",
        "return pcall(string.find, string.rep('(', 30000), '%b()%b()%b()x')",
    ])
    func theCPUGuardInterruptsPatternMatching(script: String) throws {
        let lua = try LuaState(cpuGuard: 0.2)
        #expect {
            try lua.run(script, chunkName: "pattern.lua")
        } throws: { error in
            let error = error as! LuaError
            return error.code == .cpuGuard && error.summary.hasPrefix("pattern.lua:1: CPU guard")
        }
    }

    @Test func aStopRequestInterruptsPatternMatching() throws {
        let lua = try LuaState()
        let handle = lua.stopHandle
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.2)
            handle.requestStop()
        }
        #expect {
            try lua.run(
                "while true do pcall(string.find, string.rep('a', 30000), '.-.-.-.-.-.-b') end",
                chunkName: "stubborn.lua"
            )
        } throws: { ($0 as! LuaError).code == .stopped }
    }

    /// Finalizers run with Lua's hooks switched off; scripts may not install any.
    @Test func finalizersAreRefused() throws {
        let lua = try LuaState(cpuGuard: 1)
        try LuaSandbox.apply(to: lua, libraryPath: nil)
        #expect {
            try lua.run(
                "setmetatable({}, {__gc = function() while true do end end})\ncollectgarbage()",
                chunkName: "final.lua"
            )
        } throws: { error in
            (error as! LuaError).summary
                == "final.lua:1: setmetatable: __gc finalizers are not allowed in device scripts (they run where the CPU guard cannot stop them)"
        }
        // Other metatables still work.
        #expect(
            try lua.run("return setmetatable({}, {__index = function() return 7 end}).x", chunkName: "ok.lua")
                == .integer(7)
        )
    }

    @Test func activityShowsRunningBlockingAndWhere() throws {
        let lua = try LuaState(cpuGuard: 60)
        let handle = lua.stopHandle
        let seen = Mutex<[LuaActivity]>([])
        let proceed = DispatchSemaphore(value: 0)
        // A non-blocking host call that takes long stands in for a long C function.
        lua.register("busy") { _ in
            Thread.sleep(forTimeInterval: 0.3)
            seen.withLock { $0.append(handle.activity) }
            return .none
        }
        lua.register("wait") { [unowned lua] _ in
            lua.blocking {
                seen.withLock { $0.append(handle.activity) }
                proceed.signal()
                return .none
            }
        }
        #expect(handle.activity.isRunning == false)
        try lua.run("local x = 0\nfor i = 1, 5000 do x = x + i end\nbusy()\nwait()", chunkName: "busy.lua")
        _ = proceed.wait(timeout: .now() + 5)
        let activities = seen.withLock { $0 }
        #expect(activities.count == 2)
        #expect(activities.first?.isRunning == true)
        #expect(activities.first?.isBlocking == false)
        #expect((activities.first?.secondsSinceYield ?? 0) >= 0.3)
        #expect(activities.first?.lastPosition == "busy.lua:2")
        #expect(activities.last?.isBlocking == true)
        #expect(handle.activity.isRunning == false)
    }
}

/// Lua strings are bytes: they cross the boundary unchanged in both directions.
@Suite struct LuaBytesTests {
    @Test func bytesPassUnchangedBothWays() throws {
        let lua = try LuaState()
        let frame: [UInt8] = [0x00, 0xC5, 0xCD, 0xFF, 0x80]
        var received: [[UInt8]] = []
        lua.register("frame") { _ in .one(.bytes(frame)) }
        lua.register("take") { args in
            received.append(args.bytes(1) ?? [])
            return .none
        }
        let result = try lua.run(
            "local f = frame()\ntake(f)\ntake('\\1\\2\\0\\255')\nreturn {#f, f:byte(1, -1)}",
            chunkName: "bytes.lua"
        )
        #expect(received == [frame, [1, 2, 0, 255]])
        #expect(result == .array([.integer(5)] + frame.map { .integer(Int64($0)) }))
    }

    @Test func aNULInsideAScriptDoesNotEndIt() throws {
        let lua = try LuaState()
        let source = Array("local s = 'a\0b' -- a comment holding \0 too\nreturn #s .. ':' .. 42".utf8)
        #expect(try lua.run(source: source, chunkName: "nul.lua") == .string("3:42"))
    }

    @Test func stringArgumentsMustBeUTF8ButBytesAreAvailable() throws {
        let lua = try LuaState()
        var seen: [String] = []
        lua.register("probe") { args in
            seen.append("\(args.string(1) ?? "nil") \(args.bytes(1)?.count ?? -1) \(args.typeName(1))")
            return .none
        }
        try lua.run("probe('héllo')\nprobe('\\xff\\xfe')\nprobe(12)", chunkName: "t.lua")
        #expect(seen == ["héllo 6 string", "nil 2 non-UTF-8 string", "nil -1 number"])
    }
}
