import Testing

@testable import PlenumLua

/// Plenum's interruptible string.find/match/gmatch/gsub against Lua's own, call for call.
@Suite struct LuaPatternTests {
    /// Runs `cases` and returns one line per call: its results or its error.
    private static let harness = """
        local function show(...)
          local n = select("#", ...)
          local parts = {}
          for i = 1, n do parts[i] = type((select(i, ...))) .. ":" .. tostring((select(i, ...))) end
          return table.concat(parts, ",")
        end
        local function call(f, ...)
          local packed = table.pack(pcall(f, ...))
          return show(table.unpack(packed, 1, packed.n))
        end
        local function gm(s, p, init)
          local out = {}
          for a, b in string.gmatch(s, p, init) do
            out[#out + 1] = show(a, b)
            if #out > 40 then break end
          end
          return table.concat(out, ";")
        end
        local lines = {}
        local function add(line) lines[#lines + 1] = line end
        local fixed = {
          {"hello world", "o w"}, {"hello world", "l+"}, {"hello", "^h"}, {"hello", "o$"}, {"hello", "^$"},
          {"", ""}, {"", "x*"}, {"abc", ""}, {"T=21.4 RH=45.0", "(%a+)=(-?[%d%.]+)"}, {"a.b", "a.b", true},
          {"a+b", "+", true}, {"key = value ", "^%s*(.-)%s*=%s*(.-)%s*$"}, {"f(a(b)c)d", "%b()"},
          {"THE (quick) fox", "%f[%a]%a+"}, {"hello", "()ll()"}, {"aaa", "a-b"}, {"abab", "(ab)%1"},
          {"x", "%"}, {"x", "[a"}, {"x", "(()"}, {"x", "%1"}, {"x", "%g"}, {"x", "(x"}, {"x", "x)"},
          {"x", "%f"}, {"x", "%bx"}, {"[]", "[]]"}, {"a]", "[^]]"}, {"a-z", "[a%-z]+"}, {"\\0a\\0", "%z"},
          {"\\0a\\0", "\\0a"}, {"caf\\195\\169", "[\\128-\\255]+"}, {"  trim  ", "^%s*(.-)%s*$"},
          {"2024-01-05", "(%d+)-(%d+)-(%d+)"}, {"x=1, y=2", "(%w+)=(%w+)"}, {"abc", "b", -1}, {"abc", "b", -10},
          {"abc", "b", 10}, {"abc", "", 4}, {"abc", "", 5}, {"aaa", "a*", 2}, {"hello", "l", 0},
        }
        for _, c in ipairs(fixed) do
          add("find " .. call(string.find, c[1], c[2], c[3], c[4]))
          add("match " .. call(string.match, c[1], c[2], c[3]))
          add("gmatch " .. select(2, pcall(gm, c[1], c[2], c[3])))
          add("gsub " .. call(string.gsub, c[1], c[2], "<%0>"))
          add("gsub1 " .. call(string.gsub, c[1], c[2], "%1", 2))
          add("gsubt " .. call(string.gsub, c[1], c[2], {a = "A", hello = false, l = 7}))
          add("gsubf " .. call(string.gsub, c[1], c[2], function(a, b) return b and a .. b or nil end))
        end
        add("gsub% " .. call(string.gsub, "abc", "b", "%x"))
        add("gsubbad " .. call(string.gsub, "abc", "b", {b = {}}))
        add("gsubarg " .. call(string.gsub, "abc", "b", true))
        math.randomseed(20241)
        local atoms = {"a", "b", ".", "%a", "%d", "%s", "[ab]", "[^a]", "[a-c]", "%%", "%b()", "%f[%a]", "()",
                       "(", ")", "%1", "^", "$", "x", "%w", "[%d%s]", "]", "-"}
        local quantifiers = {"", "", "", "*", "+", "-", "?"}
        local letters = {"a", "b", "c", "(", ")", " ", "1", "%", "x", "\\0"}
        for _ = 1, 3000 do
          local p = {}
          for j = 1, math.random(1, 6) do
            p[j] = atoms[math.random(#atoms)] .. quantifiers[math.random(#quantifiers)]
          end
          local s = {}
          for j = 1, math.random(0, 12) do s[j] = letters[math.random(#letters)] end
          local subject, pattern, init = table.concat(s), table.concat(p), math.random(-3, 6)
          add("rfind " .. call(string.find, subject, pattern, init))
          add("rmatch " .. call(string.match, subject, pattern))
          add("rgmatch " .. select(2, pcall(gm, subject, pattern)))
          add("rgsub " .. call(string.gsub, subject, pattern, "[%0]"))
        end
        return table.concat(lines, "\\n")
        """

    @Test func behavesExactlyLikeLuasOwnMatcher() throws {
        let native = try LuaState(memoryLimit: 0, cpuGuard: nil, nativePatterns: true)
        let ours = try LuaState()
        guard case .string(let expected) = try native.run(Self.harness, chunkName: "patterns.lua"),
            case .string(let actual) = try ours.run(Self.harness, chunkName: "patterns.lua")
        else {
            Issue.record("the harness returned no text")
            return
        }
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(expectedLines.count == actualLines.count)
        #expect(expectedLines.count > 12_000)
        var differences = 0
        for (line, (e, a)) in zip(expectedLines, actualLines).enumerated() where e != a {
            differences += 1
            if differences <= 10 { Issue.record("line \(line + 1): Lua says \(e), Plenum says \(a)") }
        }
        #expect(differences == 0)
    }
}
