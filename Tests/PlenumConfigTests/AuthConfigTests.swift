import Foundation
import PlenumCore
import Testing

@testable import PlenumConfig

/// `auth:`, `server.allow_anonymous`, `server.allowed_origins`, `server.tls` and the bind rule.
@Suite struct AuthConfigTests {
    static let hashA = "sha256:" + String(repeating: "a", count: 64)
    static let hashB = "sha256:" + String(repeating: "B", count: 64)

    private func parse(_ yaml: String) throws -> HubConfig {
        try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: fixtures)
    }

    @Test func tokensAreReadWithTheirGrants() throws {
        let config = try parse(
            """
            server:
              host: 0.0.0.0
              allowed_origins: [https://Dashboard.plant.example:8443, "null"]
            auth:
              metrics: token
              tokens:
                - name: dashboard
                  hash: \(Self.hashA)
                  read: [/plant/**, /plenum/devices/*/status]
                - name: control
                  hash: \(Self.hashB)
                  read: [/plant/line1/**]
                  write: [/plant/line1/*/setpoint]
                  metrics: true
            devices: []

            """
        )
        let auth = try #require(config.auth)
        #expect(auth.tokens.map(\.name) == ["dashboard", "control"])
        #expect(auth.metrics == .token)
        #expect(auth.health == .any)
        #expect(auth.tokens[0].grant.read.map(\.string) == ["/plant/**", "/plenum/devices/*/status"])
        #expect(auth.tokens[0].grant.write.isEmpty)
        #expect(auth.tokens[1].grant.metrics)
        #expect(auth.tokens[1].hash == (try TokenHash(Self.hashB)))
        #expect(config.server.allowedOrigins == ["https://dashboard.plant.example:8443", "null"])
        #expect(config.accessPolicy.requiresToken)
    }

    @Test func withoutAuthTheHubBindsLoopbackByDefault() throws {
        let config = try parse("devices: []\n")
        #expect(config.auth == nil)
        #expect(config.server.host == "127.0.0.1")
        #expect(!config.accessPolicy.requiresToken)
    }

    @Test func anAnonymousHubOnTheNetworkNeedsAllowAnonymous() throws {
        #expect(
            problems("server:\n  host: 0.0.0.0\ndevices: []\n") == [
                "hub.yaml:2:9: server.host: binding 0.0.0.0 without an auth: section would let anyone on that network read every channel; add auth: tokens (docs/security.md), or set server.allow_anonymous: true to serve anonymously anyway, or bind 127.0.0.1"
            ]
        )
        let allowed = try parse("server:\n  host: 0.0.0.0\n  allow_anonymous: true\ndevices: []\n")
        #expect(allowed.server.allowAnonymous)
        #expect(try parse("server:\n  host: localhost\ndevices: []\n").server.host == "localhost")
        #expect(try parse("server:\n  host: 127.0.0.2\ndevices: []\n").server.host == "127.0.0.2")
    }

    @Test func mistakesAreLocated() {
        #expect(
            problems(
                """
                server:
                  allowed_origins: [dashboard.example, "https://a.example/path"]
                auth:
                  metrics: everyone
                  tokens:
                    - name: a b
                      hash: sha256:1234
                      read: /plant/**
                    - name: twin
                      hash: md5:00
                      write: [/a/**/b]
                    - name: ok
                      hash: \(Self.hashA)
                    - name: ok
                      hash: \(Self.hashB)
                    - name: copy
                      hash: \(Self.hashA)
                    - hash: \(Self.hashB)
                      metrics: yes please
                devices: []

                """
            ) == [
                "hub.yaml:2:21: server.allowed_origins[0]: 'dashboard.example' is not an origin; write it as a browser sends it (https://host or https://host:port, no path), or null, or *",
                "hub.yaml:2:40: server.allowed_origins[1]: 'https://a.example/path' is not an origin; write it as a browser sends it (https://host or https://host:port, no path), or null, or *",
                "hub.yaml:4:12: auth.metrics: 'everyone' is not one of: any, local, token",
                "hub.yaml:6:13: auth.tokens[0].name: 'a b' is not a valid token name; use 1-64 letters, digits, '-', '_' or '.' (not 'anonymous')",
                "hub.yaml:7:13: auth.tokens[0].hash: a sha256: hash has exactly 64 hexadecimal digits after 'sha256:'",
                "hub.yaml:8:13: auth.tokens[0].read: expected a list of channel patterns such as [\"/plant/**\"], found a string",
                "hub.yaml:10:13: auth.tokens[1].hash: 'md5:00' is not a token hash; expected sha256:<64 hex digits> (plenum token new NAME prints one)",
                "hub.yaml:11:15: auth.tokens[1].write[0]: '/a/**/b' is not a valid channel pattern: '**' may only be the last segment of a pattern",
                "hub.yaml:14:13: auth.tokens[3].name: token name 'ok' is already used at line 12; names must be unique",
                "hub.yaml:17:13: auth.tokens[4].hash: token 'ok' already has this hash; every token needs its own secret (plenum token new NAME)",
                "hub.yaml:18:7: auth.tokens[5]: missing required key 'name'",
                "hub.yaml:19:16: auth.tokens[5].metrics: expected true or false, found a string (yes please)",
            ]
        )
    }

    @Test func tlsFilesMustBeReadable() throws {
        #expect(
            problems("server:\n  tls: {cert: missing.pem}\ndevices: []\n") == [
                "hub.yaml:2:15: server.tls.cert: 'missing.pem' cannot be read (looked for \(fixtures)/missing.pem; relative paths start at the directory of hub.yaml)",
                "hub.yaml:2:8: server.tls: missing required key 'key' (a PEM file)",
            ]
        )
        let config = try parse("server:\n  tls: {cert: full.yaml, key: full.yaml}\ndevices: []\n")
        #expect(config.server.tls?.certPath == fixtures + "/full.yaml")
        // TLS and allowed origins apply on SIGHUP: they are not settings that need a restart.
        var expected = ServerConfig()
        expected.dashboardPath = config.server.dashboardPath
        #expect(config.server.restartSettings == expected)
    }
}
