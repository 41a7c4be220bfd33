import Foundation
import Testing

@testable import PlenumConfig

/// Each invalid file gives exactly these messages, at these positions.
@Suite struct InvalidConfigTests {
    @Test func yamlSyntaxErrorIsLocated() {
        #expect(
            problems("server:\n  port: [1, 2\ndevices: []\n") == [
                "hub.yaml:3:8: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 9)"
            ]
        )
    }

    @Test func tabIndentationIsASyntaxError() {
        #expect(
            problems("server:\n\tport: 1\n") == [
                "hub.yaml:2:1: YAML syntax error: found character that cannot start any token (while scanning for the next token at line 2, column 1)"
            ]
        )
    }

    @Test func unknownKeyGetsADidYouMean() {
        #expect(
            problems("sever:\n  port: 1\ndevices: []\n") == [
                "hub.yaml:1:1: sever: unknown key 'sever'; did you mean 'server'? (expected one of: server, channels, devices, trends, commands, site, bridges, auth)"
            ]
        )
    }

    @Test func unknownKeyWithNothingCloseGetsNoSuggestion() {
        #expect(
            problems("server:\n  colour: blue\n") == [
                "hub.yaml:2:3: server.colour: unknown key 'colour' (expected one of: host, port, tick_ms, event_loops, max_connections, max_subscriptions, max_message_bytes, max_pending_bytes, max_subscription_bytes, header_timeout_ms, idle_timeout_ms, ping_interval_ms, max_pending_writes, dashboard, chart_js, direct_sends, allow_anonymous, allowed_origins, tls)"
            ]
        )
    }

    @Test func duplicateKeyPointsAtTheSecond() {
        #expect(
            problems("server:\n  port: 1\n  port: 2\n") == [
                "hub.yaml:3:3: server.port: duplicate key 'port' (first given at line 2)"
            ]
        )
    }

    @Test func duplicateDeviceNames() {
        #expect(
            problems("devices:\n" + device("a", prefix: "/p/a") + device("a", prefix: "/p/b")) == [
                "hub.yaml:5:11: devices[1].name: device name 'a' is already used at line 2; names must be unique"
            ]
        )
    }

    @Test func twoDevicesClaimingOnePrefix() {
        #expect(
            problems("devices:\n" + device("a", prefix: "/p/x") + device("b", prefix: "/p/x")) == [
                "hub.yaml:7:13: devices[1].prefix: prefix '/p/x' is already claimed by device 'a' at line 4"
            ]
        )
    }

    @Test func stringWhereANumberIsExpected() {
        #expect(
            problems("server:\n  port: \"8080\"\n") == [
                "hub.yaml:2:9: server.port: expected an integer from 0 to 65535, found a string (\"8080\")"
            ]
        )
    }

    @Test func listWhereAMappingIsExpected() {
        #expect(
            problems("server: [8080]\n") == [
                "hub.yaml:1:9: server: expected 'server' to be a mapping (key: value lines), found a list"
            ]
        )
    }

    @Test func portOutOfRange() {
        #expect(
            problems("server:\n  port: 70000\n") == [
                "hub.yaml:2:9: server.port: 70000 is out of range; expected an integer from 0 to 65535"
            ]
        )
    }

    @Test func negativeTick() {
        #expect(
            problems("server:\n  tick_ms: -5\n") == [
                "hub.yaml:2:12: server.tick_ms: -5 is out of range; expected an integer from 0 to 60000"
            ]
        )
    }

    @Test func zeroLimits() {
        #expect(
            problems("server:\n  max_connections: 0\n  max_subscriptions: 0\n") == [
                "hub.yaml:2:20: server.max_connections: 0 is out of range; expected an integer from 1 to 1000000",
                "hub.yaml:3:22: server.max_subscriptions: 0 is out of range; expected an integer from 1 to 1000000",
            ]
        )
    }

    @Test func fractionalWhereAnIntegerIsExpected() {
        #expect(
            problems("channels:\n  history: 2.5\n") == [
                "hub.yaml:2:12: channels.history: expected an integer from 0 to 100000, found a number (2.5)"
            ]
        )
    }

    @Test func badHistoryPrefixes() {
        #expect(
            problems("channels:\n  history_by_prefix:\n    plant: 5\n    /a: many\n    /b: -1\n") == [
                "hub.yaml:3:5: channels.history_by_prefix.plant: 'plant' is not a valid channel prefix: the path must start with '/'",
                "hub.yaml:4:9: channels.history_by_prefix./a: expected an integer from 0 to 100000, found a string (many)",
                "hub.yaml:5:9: channels.history_by_prefix./b: -1 is out of range; expected an integer from 0 to 100000",
            ]
        )
    }

    @Test func prefixWithoutLeadingSlash() {
        #expect(
            problems("devices:\n" + device(prefix: "plant/a")) == [
                "hub.yaml:4:13: devices[0].prefix: 'plant/a' is not a valid channel prefix: the path must start with '/'"
            ]
        )
    }

    @Test func prefixWithEmptySegment() {
        #expect(
            problems("devices:\n" + device(prefix: "/plant//a")) == [
                "hub.yaml:4:13: devices[0].prefix: '/plant//a' is not a valid channel prefix: the path has an empty segment ('//' or a trailing '/')"
            ]
        )
    }

    @Test func prefixWithWildcard() {
        #expect(
            problems("devices:\n" + device(prefix: "/plant/*")) == [
                "hub.yaml:4:13: devices[0].prefix: '/plant/*' is not a valid channel prefix: the path has a wildcard segment '*'; wildcards belong in patterns"
            ]
        )
    }

    @Test func prefixWithWhitespace() {
        #expect(
            problems("devices:\n" + device(prefix: "\"/plant/line 1\"")) == [
                "hub.yaml:4:13: devices[0].prefix: '/plant/line 1' is not a valid channel prefix: the path contains a forbidden character U+20 (whitespace, control characters and '*' are not allowed)"
            ]
        )
    }

    @Test func missingScriptIsResolvedAgainstTheConfigDirectory() {
        #expect(
            problems("devices:\n" + device(script: "plugins/nope.lua")) == [
                "hub.yaml:3:13: devices[0].script: script 'plugins/nope.lua' not found (looked for \(fixtures)/plugins/nope.lua; relative paths start at the directory of hub.yaml)"
            ]
        )
    }

    @Test func missingRequiredKeys() {
        #expect(
            problems("devices:\n  - name: a\n") == [
                "hub.yaml:2:5: devices[0]: missing required key 'script'",
                "hub.yaml:2:5: devices[0]: missing required key 'prefix'",
            ]
        )
    }

    @Test func invalidDeviceName() {
        #expect(
            problems("devices:\n" + device("chiller 1")) == [
                "hub.yaml:2:11: devices[0].name: 'chiller 1' is not a valid device name; use 1-64 letters, digits, '-', '_' or '.'"
            ]
        )
    }

    @Test func devicesNotAList() {
        #expect(
            problems("devices:\n  name: a\n") == [
                "hub.yaml:2:3: devices: expected a list of devices (lines starting with '- '), found a mapping"
            ]
        )
    }

    @Test func paramsNotAMapping() {
        #expect(
            problems("devices:\n" + device() + "    params: 5\n") == [
                "hub.yaml:5:13: devices[0].params: expected a mapping of parameters, found an integer"
            ]
        )
    }

    @Test func cpuGuardMustBePositive() {
        #expect(
            problems("devices:\n" + device() + "    limits:\n      cpu_guard_s: 0\n      memory_mb: lots\n") == [
                "hub.yaml:7:18: devices[0].limits.memory_mb: expected an integer from 1 to 4096, found a string (lots)",
                "hub.yaml:6:20: devices[0].limits.cpu_guard_s: 0 is out of range; expected a number of seconds from 0.01 to 3600 (the guard cannot be turned off)",
            ]
        )
    }

    @Test func emptyFile() {
        #expect(problems("") == ["hub.yaml:1:1: the file is empty; expected a mapping with at least a 'devices:' list"])
        #expect(
            problems("# only a comment\n") == [
                "hub.yaml:1:1: the file is empty; expected a mapping with at least a 'devices:' list"
            ]
        )
    }

    @Test func fileThatIsNotAMapping() {
        #expect(
            problems("- a\n- b\n") == [
                "hub.yaml:1:1: expected the top level to be a mapping (key: value lines), found a list"
            ]
        )
        #expect(
            problems("just text\n") == [
                "hub.yaml:1:1: expected the top level to be a mapping (key: value lines), found a string"
            ]
        )
    }

    @Test func moreThanOneDocument() {
        #expect(
            problems("devices: []\n---\ndevices: []\n") == [
                "hub.yaml:2:1: the file holds more than one YAML document; put everything in one"
            ]
        )
    }

    @Test func fileThatIsNotUTF8() {
        let bytes = Array("devices:\n  - name: caf".utf8) + [0xE9, 0x0A]
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(bytes, file: "hub.yaml", baseDirectory: fixtures)
        }
        do {
            _ = try ConfigLoader.parse(bytes, file: "hub.yaml", baseDirectory: fixtures)
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "hub.yaml:2:14: the file is not valid UTF-8 (incomplete UTF-8 octet sequence); save hub.yaml as UTF-8"
                ]
            )
        }
    }

    @Test func billionLaughsIsRefusedQuickly() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            let refs = Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
            yaml += "a\(i): &a\(i) [\(refs)]\n"
        }
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(
            found.first?.hasSuffix(
                "aliases expand this document to more than 100000 nodes; hub.yaml does not need anchors this deep"
            ) == true
        )
        #expect(found.first?.hasPrefix("hub.yaml:5:45: ") == true, "\(found)")
    }

    @Test func undefinedAlias() {
        #expect(
            problems("devices: *nothing\n") == [
                "hub.yaml:1:10: alias '*nothing' refers to no anchor; define it first with '&nothing'"
            ]
        )
    }

    @Test func everyMistakeIsReportedInOnePass() throws {
        do {
            _ = try ConfigLoader.load(path: fixtures + "/five-mistakes.yaml")
            Issue.record("five-mistakes.yaml was accepted")
        } catch {
            let file = fixtures + "/five-mistakes.yaml"
            #expect(
                error.diagnostics.map(\.description) == [
                    "\(file):2:9: server.port: 70000 is out of range; expected an integer from 0 to 65535",
                    "\(file):3:12: server.tick_ms: expected an integer from 0 to 60000, found a string (fast)",
                    "\(file):6:13: devices[0].script: script 'plugins/missing.lua' not found (looked for \(fixtures)/plugins/missing.lua; relative paths start at the directory of \(file))",
                    "\(file):9:5: devices[1].scirpt: unknown key 'scirpt'; did you mean 'script'? (expected one of: name, script, prefix, params, limits, writable)",
                    "\(file):8:5: devices[1]: missing required key 'script'",
                    "\(file):10:13: devices[1].prefix: 'plant/line1/ahu-1' is not a valid channel prefix: the path must start with '/'",
                ]
            )
        }
    }

    @Test func missingFile() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/hub.yaml")
            Issue.record("a missing file was accepted")
        } catch {
            #expect(
                error.description
                    == "/nonexistent/hub.yaml:1:1: the configuration file does not exist; pass --config PATH to name another"
            )
        }
    }

    @Test func didYouMeanIsConservative() {
        #expect(ConfigDecoder.closest(to: "tick", in: ["tick_ms", "port"]) == nil)
        #expect(ConfigDecoder.closest(to: "tickms", in: ["tick_ms", "port"]) == "tick_ms")
        #expect(ConfigDecoder.closest(to: "PORT", in: ["tick_ms", "port"]) == "port")
        #expect(ConfigDecoder.editDistance("", "abc") == 3)
    }
}
