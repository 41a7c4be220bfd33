import Glibc
import PlenumCore
import Testing

@testable import PlenumConfig

/// `site:` and `bridges:` in hub.yaml: defaults, every key, and located mistakes.
@Suite struct BridgeConfigTests {
    private func load(_ yaml: String) throws -> HubConfig {
        try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
    }

    @Test func aBridgeNeedsOnlyANameAndAHost() throws {
        let config = try load("site: plant-a\ndevices: []\nbridges:\n  - { name: central, host: broker.example }\n")
        let bridge = try #require(config.bridges.first)
        #expect(config.site == "plant-a")
        #expect(bridge.port == 1883)
        #expect(bridge.topicPrefix == "plenum/plant-a")
        #expect(bridge.clientID == nil)
        #expect(bridge.include.map(\.string) == ["/**"])
        #expect(bridge.exclude.isEmpty)
        #expect(bridge.qos == 1)
        #expect(bridge.retain)
        #expect(bridge.keepaliveSeconds == 30)
        #expect(bridge.maxInflight == 100)
        #expect(bridge.tls == nil && bridge.username == nil && bridge.password == nil)
    }

    @Test func withoutASiteTheHostNameNamesTheHub() throws {
        let config = try load("devices: []\nbridges:\n  - { name: central, host: broker.example }\n")
        #expect(config.site == ConfigDecoder.defaultSite())
        #expect(config.bridges.first?.topicPrefix == "plenum/" + ConfigDecoder.defaultSite())
        #expect(!config.site.isEmpty && !config.site.contains("/"))
    }

    @Test func everyKeyIsReadAndThePasswordIsNeverPrinted() throws {
        let yaml = """
            site: plant-b
            bridges:
              - name: central
                host: 10.0.0.5
                client_id: gateway-17
                username: plenum
                password_file: secrets/broker.pass
                tls: { ca: secrets/ca.pem }
                topic_prefix: fleet/eu/plant-b
                include: ["/plant/**"]
                exclude: ["/plant/*/debug/**"]
                qos: 0
                retain: false
                keepalive_s: 10
                max_inflight: 500
                reconnect_min_s: 2
                reconnect_max_s: 60

            """
        let config = try load(yaml)
        let bridge = try #require(config.bridges.first)
        #expect(bridge.port == 8883)
        #expect(bridge.clientID == "gateway-17")
        #expect(bridge.username == "plenum")
        #expect(bridge.password?.value == "s3cret-pass")
        #expect(bridge.tls?.caFile == fixtures + "/secrets/ca.pem")
        #expect(bridge.topicPrefix == "fleet/eu/plant-b")
        #expect(bridge.include.map(\.string) == ["/plant/**"])
        #expect(bridge.exclude.map(\.string) == ["/plant/*/debug/**"])
        #expect(bridge.qos == 0 && !bridge.retain)
        #expect(bridge.keepaliveSeconds == 10 && bridge.maxInflight == 500)
        #expect(bridge.reconnectMinSeconds == 2 && bridge.reconnectMaxSeconds == 60)
        #expect(!"\(config)".contains("s3cret"))
        #expect(!String(reflecting: config).contains("s3cret"))
    }

    @Test func thePasswordMayComeFromTheEnvironment() throws {
        setenv("PLENUM_TEST_BROKER_PASSWORD", "from-env", 1)
        defer { unsetenv("PLENUM_TEST_BROKER_PASSWORD") }
        let config = try load(
            "bridges:\n  - { name: c, host: h, username: u, password_env: PLENUM_TEST_BROKER_PASSWORD }\n"
        )
        #expect(config.bridges.first?.password?.value == "from-env")
    }

    @Test func mistakesAreLocated() {
        let yaml = """
            site: "plant a"
            bridges:
              - name: central
                host: broker
                qos: 2
                topic_prefix: "plenum/#"
                include: ["/plant/**/x"]
                password_env: PLENUM_TEST_SURELY_UNSET
                tls: { ca: secrets/missing.pem, cert: secrets/ca.pem }
                retain: maybe
                reconnect_min_s: 10
                reconnect_max_s: 5
                port: 0
              - name: central
                host: other
              - host: third
                clientid: x

            """
        #expect(
            problems(yaml) == [
                "hub.yaml:1:7: site: 'plant a' is not a valid site name; use 1-64 letters, digits, '-', '_' or '.' (it goes into MQTT topics)",
                "hub.yaml:9:16: bridges[0].tls.ca: cannot read 'secrets/missing.pem' (looked for \(fixtures)/secrets/missing.pem)",
                "hub.yaml:9:10: bridges[0].tls: a client certificate needs both 'cert' and 'key'",
                "hub.yaml:13:11: bridges[0].port: 0 is out of range; expected an integer from 1 to 65535",
                "hub.yaml:6:19: bridges[0].topic_prefix: 'plenum/#' cannot prefix MQTT topics: '+' and '#' are MQTT wildcards",
                "hub.yaml:7:15: bridges[0].include[0]: '/plant/**/x' is not a valid channel pattern: '**' may only be the last segment of a pattern",
                "hub.yaml:5:10: bridges[0].qos: 2 is out of range; expected an integer from 0 to 1",
                "hub.yaml:10:13: bridges[0].retain: expected true or false, found a string (maybe)",
                "hub.yaml:12:22: bridges[0].reconnect_max_s: must be at least reconnect_min_s (10)",
                "hub.yaml:8:19: bridges[0].password_env: the environment variable 'PLENUM_TEST_SURELY_UNSET' is not set (the hub reads the broker password from it)",
                "hub.yaml:14:11: bridges[1].name: bridge name 'central' is already used at line 3; names must be unique",
                "hub.yaml:17:5: bridges[2].clientid: unknown key 'clientid'; did you mean 'client_id'? (expected one of: \(ConfigDecoder.bridgeKeys.joined(separator: ", ")))",
                "hub.yaml:16:5: bridges[2]: missing required key 'name'",
            ]
        )
    }

    @Test func downstreamNeedsAnIdentityAndWritePatterns() throws {
        let config = try load(
            "bridges:\n  - name: c\n    host: h\n    downstream: { identity: mqtt-c, write: [\"/plant/*/setpoint\"] }\n"
        )
        let downstream = try #require(config.bridges.first?.downstream)
        #expect(downstream.identity == "mqtt-c")
        #expect(downstream.write.map(\.string) == ["/plant/*/setpoint"])
        #expect(downstream.maxPending == 16)
        #expect(try load("bridges:\n  - { name: c, host: h }\n").bridges.first?.downstream == nil)
        #expect(
            problems("bridges:\n  - name: c\n    host: h\n    downstream: { identity: \"a b\", max_pending: 0 }\n") == [
                "hub.yaml:4:17: bridges[0].downstream: missing required key 'write'",
                "hub.yaml:4:29: bridges[0].downstream.identity: 'a b' is not a valid identity name; use 1-64 letters, digits, '-', '_' or '.'",
                "hub.yaml:4:49: bridges[0].downstream.max_pending: 0 is out of range; expected an integer from 1 to 10000",
            ]
        )
    }
}
