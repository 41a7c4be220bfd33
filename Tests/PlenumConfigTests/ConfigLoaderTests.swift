import Foundation
import PlenumCore
import Testing

@testable import PlenumConfig

/// The directory holding fixture scripts and files.
let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

/// Parses `yaml` as `hub.yaml` beside the fixtures and returns its diagnostics as printed.
func problems(_ yaml: String) -> [String] {
    do {
        _ = try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

/// A valid device stanza, to build invalid files around.
func device(
    _ name: String = "chiller-1",
    prefix: String = "/plant/line1/chiller-1",
    script: String = "plugins/sim.lua"
)
    -> String
{
    "  - name: \(name)\n    script: \(script)\n    prefix: \(prefix)\n"
}

@Suite struct ValidConfigTests {
    @Test func defaultsApplyWhenOnlyDevicesAreGiven() throws {
        let config = try ConfigLoader.parse(
            Array(("devices:\n" + device()).utf8),
            file: "hub.yaml",
            baseDirectory: fixtures
        )
        var defaults = ServerConfig()
        defaults.dashboardPath = fixtures + "/dashboard"
        #expect(config.server == defaults)
        #expect(config.server.host == "127.0.0.1")
        #expect(config.server.port == 8080)
        #expect(config.server.tickMilliseconds == 10)
        #expect(config.server.eventLoops == 0)
        #expect(config.server.maxConnections == 10_000)
        #expect(config.server.maxSubscriptions == 1_000)
        #expect(config.server.maxMessageBytes == 65_536)
        #expect(config.server.maxPendingBytes == 4_194_304)
        #expect(config.server.directSends)
        #expect(config.channels.history == 16)
        #expect(config.devices.count == 1)
        let d = config.devices[0]
        #expect(d.name == "chiller-1")
        #expect(d.script == "plugins/sim.lua")
        #expect(d.scriptPath == fixtures + "/plugins/sim.lua")
        #expect(d.prefix == (try ChannelPath("/plant/line1/chiller-1")))
        #expect(d.params == .object([:]))
        #expect(d.limits == DeviceLimits())
        #expect(d.limits.memoryMB == 64)
        #expect(d.limits.cpuGuardSeconds == 5)
        #expect(d.limits.stopGraceMilliseconds == 2_000)
    }

    @Test func directSendsCanBeTurnedOff() throws {
        let config = try ConfigLoader.parse(
            Array("server:\n  direct_sends: false\ndevices: []\n".utf8),
            file: "hub.yaml",
            baseDirectory: fixtures
        )
        #expect(!config.server.directSends)
        #expect(problems("server:\n  direct_sends: 1\ndevices: []\n").count == 1)
    }

    @Test func emptyDeviceListIsValid() throws {
        let config = try ConfigLoader.parse(Array("devices: []\n".utf8), file: "hub.yaml", baseDirectory: fixtures)
        #expect(config.devices.isEmpty)
    }

    @Test func everyKeyPresentIsRead() throws {
        let config = try ConfigLoader.load(path: fixtures + "/full.yaml")
        #expect(config.server.host == "127.0.0.1")
        #expect(config.server.port == 9001)
        #expect(config.server.tickMilliseconds == 25)
        #expect(config.server.eventLoops == 2)
        #expect(config.server.maxConnections == 500)
        #expect(config.server.maxSubscriptions == 50)
        #expect(config.server.maxMessageBytes == 4096)
        #expect(config.server.maxPendingBytes == 65536)
        #expect(config.channels.history == 100)
        let d = try #require(config.devices.first)
        #expect(
            d.params
                == .object([
                    "setpoint": .double(6.5),
                    "units": .string("°C"),
                    "stages": .array([.integer(1), .integer(2)]),
                    "nested": .object(["enabled": .bool(true), "note": .null]),
                    "quoted_number": .string("42"),
                ])
        )
        #expect(d.limits.memoryMB == 16)
        #expect(d.limits.cpuGuardSeconds == 0.5)
        #expect(d.limits.stopGraceMilliseconds == 250)
    }

    @Test func historyByPrefixIsRead() throws {
        let yaml = "channels:\n  history: 4\n  history_by_prefix:\n    /plant/line2: 256\n    /plant: 32\ndevices: []\n"
        let config = try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
        #expect(config.channels.history == 4)
        #expect(
            config.channels.historyByPrefix == [try ChannelPath("/plant/line2"): 256, try ChannelPath("/plant"): 32]
        )
    }

    @Test func absoluteScriptPathsAreKept() throws {
        let yaml = "devices:\n" + device(script: fixtures + "/plugins/other.lua")
        let config = try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: "/nonexistent")
        #expect(config.devices[0].scriptPath == fixtures + "/plugins/other.lua")
    }

    @Test func aFewAliasesAreFine() throws {
        let yaml = """
            devices:
              - name: a
                script: plugins/sim.lua
                prefix: /p/a
                params: &common {setpoint: 6}
              - name: b
                script: plugins/sim.lua
                prefix: /p/b
                params: *common

            """
        let config = try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
        #expect(config.devices[1].params == .object(["setpoint": .integer(6)]))
    }
}
