import Foundation
import Testing

@testable import PlenumLua

@Suite struct LuaValueConversionTests {
    private func eval(_ expression: String) throws -> LuaValue {
        let lua = try LuaState()
        return try lua.run("return " + expression, chunkName: "test.lua")
    }

    @Test func scalarsKeepTheirKind() throws {
        #expect(try eval("42") == .integer(42))
        #expect(try eval("42.0") == .number(42))
        #expect(try eval("-0.5") == .number(-0.5))
        #expect(try eval("true") == .boolean(true))
        #expect(try eval("nil") == .nil)
        #expect(try eval("'héllo'") == .string("héllo"))
    }

    @Test func tablesBecomeArraysOrObjects() throws {
        #expect(try eval("{1, 2, 'x'}") == .array([.integer(1), .integer(2), .string("x")]))
        #expect(try eval("{a = 1, b = {c = true}}") == .table(["a": .integer(1), "b": .table(["c": .boolean(true)])]))
        #expect(try eval("{}") == .table([:]))
        #expect(try eval("{{1}, {2}}") == .array([.array([.integer(1)]), .array([.integer(2)])]))
    }

    @Test func unconvertibleValuesAreNamedWithTheirPath() throws {
        let lua = try LuaState()
        var seen: [String] = []
        lua.register("take") { args in
            do {
                _ = try args.value(1)
                seen.append("ok")
            } catch {
                seen.append("\(error)")
            }
            return .none
        }
        try lua.run(
            """
            take({a = {b = function() end}})
            take({1, 2, 0/0})
            take({x = 1/0})
            local t = {}; t.self = t; take(t)
            take({1, 2, x = 3})
            take({[true] = 1})
            take(coroutine.create(function() end))
            take("\\xff")
            take({1, nil, 3})
            """,
            chunkName: "test.lua"
        )
        #expect(
            seen == [
                "argument 1.a.b: a function cannot be converted (only nil, booleans, numbers, strings and tables)",
                "argument 1[3]: NaN is not a finite number (JSON has no NaN or infinity)",
                "argument 1.x: inf is not a finite number (JSON has no NaN or infinity)",
                "argument 1.self: the table contains itself (a cycle)",
                "argument 1: a table must be a list (keys 1..n) or have only string keys",
                "argument 1: a table must be a list (keys 1..n) or have only string keys",
                "argument 1: a thread cannot be converted (only nil, booleans, numbers, strings and tables)",
                "argument 1: string is not valid UTF-8 (JSON strings must be UTF-8; send binary data as a list of byte values)",
                "argument 1: a table must be a list (keys 1..n) or have only string keys",
            ]
        )
    }

    @Test func valuesRoundTripThroughLua() throws {
        let lua = try LuaState()
        let value = LuaValue.table([
            "list": .array([.integer(1), .number(2.5)]), "s": .string("x"), "b": .boolean(false),
        ])
        lua.setGlobal("v", value)
        #expect(try lua.run("return v", chunkName: "t") == value)
        #expect(try lua.run("return v.list[2]", chunkName: "t") == .number(2.5))
    }
}

@Suite struct LuaErrorTests {
    @Test func syntaxErrorsNameFileAndLine() throws {
        let lua = try LuaState()
        #expect {
            try lua.run("local x = 1\nlocal = 2", chunkName: "broken.lua")
        } throws: { error in
            let e = error as! LuaError
            return e.code == .load && e.summary == "broken.lua:2: <name> expected near '='"
        }
    }

    @Test func runtimeErrorsCarryATraceback() throws {
        let lua = try LuaState()
        do {
            try lua.run("local function f()\n  error('boom')\nend\nf()", chunkName: "crash.lua")
            Issue.record("no error")
        } catch {
            #expect(error.code == .runtime)
            #expect(error.summary == "crash.lua:2: boom")
            #expect(error.message.contains("stack traceback:"))
            #expect(error.message.contains("crash.lua:4:"))
        }
    }

    @Test func hostFunctionErrorsAreCatchableLuaErrorsWithLocation() throws {
        let lua = try LuaState()
        lua.register("fail") { _ in .error("nope") }
        let result = try lua.run(
            "local ok, err = pcall(fail)\nreturn {ok = ok, err = err}",
            chunkName: "host.lua"
        )
        #expect(result == .table(["ok": .boolean(false), "err": .string("nope")]))
        // Called directly from the script, the error names the caller's line.
        #expect {
            try lua.run("\nfail()", chunkName: "host.lua")
        } throws: { ($0 as! LuaError).summary == "host.lua:2: nope" }
    }

    @Test func theMemoryCapStopsABombAndSaysWhere() throws {
        let lua = try LuaState(memoryLimit: 8 << 20)
        do {
            try lua.run("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end", chunkName: "bomb.lua")
            Issue.record("no error")
        } catch {
            #expect(error.code == .memory)
            #expect(
                error.summary
                    == "bomb.lua:2: not enough memory (the script's heap reached its memory_mb limit of 8 MB)"
            )
            #expect(error.message.contains("stack traceback:\n"))
            #expect(error.message.contains("bomb.lua:2: in main chunk"))
        }
        // Only the error report (a bounded message and traceback) may pass the cap.
        #expect(lua.peakMemory <= (8 << 20) + (64 << 10))
        // The state is still usable after the cap tripped.
        #expect(try lua.run("collectgarbage(); return 1 + 1", chunkName: "after.lua") == .integer(2))
    }

    @Test func theCPUGuardStopsALoopThatNeverYields() throws {
        let lua = try LuaState(cpuGuard: 0.2)
        let start = Date()
        do {
            try lua.run("while true do end", chunkName: "spin.lua")
            Issue.record("no error")
        } catch {
            #expect(error.code == .cpuGuard)
            #expect(error.summary.contains("CPU guard"))
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func aStopRequestCannotBeSwallowedByPcall() throws {
        let lua = try LuaState()
        let handle = lua.stopHandle
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.2)
            handle.requestStop()
        }
        do {
            try lua.run(
                "while true do pcall(function() while true do end end) end",
                chunkName: "stubborn.lua"
            )
            Issue.record("no error")
        } catch {
            #expect(error.code == .stopped)
            #expect(error.summary.contains("device stopping"))
        }
    }
}

@Suite struct LuaSandboxTests {
    private let lib = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("lib").path

    private func sandboxed() throws -> LuaState {
        let lua = try LuaState()
        try LuaSandbox.apply(to: lua, libraryPath: lib)
        return lua
    }

    @Test func onlyTheAllowListRemains() throws {
        let lua = try sandboxed()
        let result = try lua.run(
            """
            return {
              io = io == nil, execute = os.execute == nil, exit = os.exit == nil, getenv = os.getenv == nil,
              dofile = dofile == nil, loadfile = loadfile == nil, dump = string.dump == nil,
              package = package == nil, getinfo = debug.getinfo == nil, sethook = debug.sethook == nil,
              traceback = type(debug.traceback) == "function", time = type(os.time) == "function",
              format = type(string.format) == "function", pcall = type(pcall) == "function",
            }
            """,
            chunkName: "probe.lua"
        )
        guard case .table(let fields) = result else {
            Issue.record("not a table")
            return
        }
        for (name, value) in fields { #expect(value == .boolean(true), "\(name)") }
    }

    @Test func bytecodeCannotBeLoaded() throws {
        let lua = try sandboxed()
        #expect {
            try lua.run("local f = load('\\27Lua', 'x', 'b')\nreturn f", chunkName: "evil.lua")
        } throws: { ($0 as! LuaError).summary == "evil.lua:1: load: only text chunks are allowed (mode 't')" }
        #expect {
            try lua.run("local f = load('\\27LuaT\\0')\nreturn f", chunkName: "evil.lua")
        } throws: { ($0 as! LuaError).summary == "evil.lua:1: load: binary chunks are not allowed" }
        #expect(try lua.run("return load('return 7')()", chunkName: "ok.lua") == .integer(7))
        // Without an env argument a loaded chunk sees the globals; with one, only that table.
        #expect(try lua.run("x = 5; return load('return x')()", chunkName: "ok.lua") == .integer(5))
        #expect(try lua.run("return load('return x', 'c', 't', {x = 9})()", chunkName: "ok.lua") == .integer(9))
    }

    @Test func requireLoadsOnlyFromTheLibraryDirectory() throws {
        let lua = try sandboxed()
        #expect(try lua.run("return require('helper').double(21)", chunkName: "t.lua") == .integer(42))
        #expect(try lua.run("return require('helper') == require('helper')", chunkName: "t.lua") == .boolean(true))
        #expect {
            try lua.run("require('../LuaStateTests')", chunkName: "t.lua")
        } throws: {
            ($0 as! LuaError).summary
                == "t.lua:1: module '../LuaStateTests' not allowed: names may hold letters, digits, '_', '-' and '.' only"
        }
        #expect {
            try lua.run("require('missing')", chunkName: "t.lua")
        } throws: { ($0 as! LuaError).summary == "t.lua:1: module 'missing' not found in \(lib)" }
    }
}
