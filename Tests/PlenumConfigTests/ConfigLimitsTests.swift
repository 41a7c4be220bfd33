import Foundation
import Testing

@testable import PlenumConfig

/// Files beyond `ConfigLimits` are refused while they are read, with a located error; none of
/// them can exhaust the stack, memory or time (each test would crash or hang otherwise).
@Suite struct ConfigLimitsTests {
    /// A device whose `params` hold `value` (a flow collection on one line).
    private func withParams(_ value: String) -> String {
        "devices:\n" + device() + "    params: {deep: \(value)}\n"
    }

    private func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    @Test func paramsNestedTenThousandDeepAreRefusedAtTheLimit() {
        let found = problems(withParams(nested(10_000)))
        // Levels: the top mapping, devices, the device, params, then 60 lists; the 61st is refused.
        #expect(
            found == [
                "hub.yaml:5:80: devices[0].params.deep[0][0][0][0]… (56 more levels): "
                    + "lists and mappings nest more than 64 levels deep here; hub.yaml allows at most 64"
            ]
        )
    }

    @Test func paramsNestedFiftyThousandDeepAreRefusedTheSameWay() {
        let found = problems(withParams(nested(50_000)))
        #expect(found.count == 1)
        #expect(
            found.first?.hasPrefix("hub.yaml:5:80: devices[0].params.deep[0][0][0][0]… (56 more levels): lists and")
                == true
        )
    }

    @Test func deepBlockMappingsAreRefusedToo() {
        var yaml = "devices:\n" + device() + "    params:\n"
        for level in 0..<70 {
            yaml += String(repeating: " ", count: 6 + 2 * level) + "k\(level):\n"
        }
        yaml += String(repeating: " ", count: 6 + 140) + "leaf: 1\n"
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(
            found.first?.hasPrefix(
                "hub.yaml:67:129: devices[0].params.k0.k1.k2.k3.k4… (56 more levels): lists and mappings nest"
            ) == true,
            "\(found)"
        )
    }

    @Test func blockNestingUpToTheLimitIsAccepted() throws {
        // A fuzzing run checked this boundary with a key dedented in the middle of the chain.
        var yaml = "devices:\n" + device() + "    params:\n"
        for level in 0..<60 {
            yaml += String(repeating: " ", count: 6 + 2 * level) + "k\(level):\n"
        }
        yaml += String(repeating: " ", count: 6 + 120) + "leaf: 1\n"
        let config = try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
        var value = config.devices[0].params
        var depth = 0
        while case .object(let members) = value {
            depth += 1
            value = members.first?.value ?? .null
        }
        #expect(depth == 61)
        #expect(value == .integer(1))
    }

    @Test func deepUnclosedNestingIsRefusedBeforeTheSyntaxError() {
        let found = problems(withParams(String(repeating: "{a: ", count: 100_000)))
        #expect(found.count == 1)
        #expect(found.first?.contains("nest more than 64 levels deep") == true)
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        // 4 levels above params' value, so its value may nest 60 lists.
        let config = try ConfigLoader.parse(
            Array(withParams(nested(60)).utf8),
            file: "hub.yaml",
            baseDirectory: fixtures
        )
        var value = config.devices[0].params["deep"]
        var depth = 0
        while case .array(let items)? = value {
            depth += 1
            value = items.first
        }
        #expect(depth == 60)
    }

    @Test func anAliasCannotPutItsSubtreeDeeperThanTheLimit() {
        // Found by fuzzing the depth limit: a subtree within the limit where it is anchored may
        // land deeper where it is aliased.
        let anchored = "a: &a " + nested(30) + "\n"
        let fits = anchored + withParams(String(repeating: "[", count: 30) + "*a" + String(repeating: "]", count: 30))
        #expect(problems(fits).allSatisfy { !$0.contains("deep") })
        let tooDeep =
            anchored + withParams(String(repeating: "[", count: 31) + "*a" + String(repeating: "]", count: 31))
        #expect(
            problems(tooDeep).first
                == "hub.yaml:6:51: devices[0].params.deep[0][0][0][0]… (27 more levels): this alias puts lists and "
                + "mappings more than 64 levels deep; hub.yaml allows at most 64"
        )
    }

    @Test func chainsOfAliasesCannotGrowPastTheLimit() {
        // Each anchor is 20 lists around the previous one: 20, 40, 60, then 80 levels.
        var yaml = "a0: &a0 " + nested(20) + "\n"
        for k in 1...3 {
            yaml +=
                "a\(k): &a\(k) " + String(repeating: "[", count: 20) + "*a\(k - 1)" + String(repeating: "]", count: 20)
                + "\n"
        }
        let found = problems(yaml + "devices: []\n")
        #expect(found.count == 1)
        #expect(
            found.first?.hasPrefix("hub.yaml:4:29: a3[0][0][0][0][0][0][0]… (13 more levels): this alias puts") == true,
            "\(found)"
        )
    }

    @Test func aLargeFileWithoutAliasesIsNotCalledAnAliasBomb() {
        let items = Array(repeating: "0", count: 100_001).joined(separator: ",")
        let found = problems(withParams("[\(items)]"))
        #expect(found.count == 1)
        #expect(
            found == [
                "hub.yaml:5:199993: devices[0].params.deep[99986]: the document holds more than 100000 values "
                    + "(keys, scalars, lists and mappings); hub.yaml allows at most 100000"
            ]
        )
        #expect(found.allSatisfy { !$0.contains("aliases") })
    }

    @Test func aFileLargerThanOneMebibyteIsRefusedWhereItGoesPast() {
        let line = "# " + String(repeating: "x", count: 1_021) + "\n"  // 1 KiB per line
        let yaml = String(repeating: line, count: 1_024) + "devices: []\n"
        #expect(
            problems(yaml) == [
                "hub.yaml:1025:1: the file is larger than 1048576 bytes, the most hub.yaml may hold; "
                    + "it goes past the limit here"
            ]
        )
    }

    @Test func aValueLongerThan64KiBIsRefused() {
        let found = problems(withParams("\"" + String(repeating: "x", count: 65_537) + "\""))
        #expect(
            found == [
                "hub.yaml:5:20: devices[0].params.deep: this value is 65537 bytes long; a value in hub.yaml may hold at most 65536 bytes"
            ]
        )
        let anchor = problems(withParams("&" + String(repeating: "a", count: 65_537) + " 1"))
        #expect(anchor.first?.contains("this anchor name is 65537 bytes long") == true, "\(anchor)")
    }

    @Test func readingAnEndlessFileStopsPastTheLimit() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/dev/zero") }
        do {
            _ = try ConfigLoader.load(path: "/dev/zero")
        } catch {
            #expect(error.diagnostics.map(\.code) == [.tooLarge])
        }
    }

    @Test func aDirectoryIsNotAConfigurationFile() {
        do {
            _ = try ConfigLoader.load(path: fixtures)
            Issue.record("a directory was accepted")
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "\(fixtures):1:1: the configuration file cannot be read (read \(fixtures): Is a directory); "
                        + "pass --config PATH to name another"
                ]
            )
        }
    }
}
