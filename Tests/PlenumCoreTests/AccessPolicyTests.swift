import Testing

@testable import PlenumCore

@Suite struct AccessPolicyTests {
    private func pattern(_ text: String) -> ChannelPattern { try! ChannelPattern(text) }
    private func path(_ text: String) -> ChannelPath { try! ChannelPath(text) }

    private let dashboardSecret = "dashboard-secret-0123456789abcdefghijklmnopq"
    private let controlSecret = "control-secret-0123456789abcdefghijklmnopqrs"

    private var policy: AccessPolicy {
        AccessPolicy(tokens: [
            .init(
                name: "dashboard",
                hash: TokenHash(hashing: dashboardSecret),
                grant: AccessGrant(read: [pattern("/plant/line1/**")])
            ),
            .init(
                name: "control",
                hash: TokenHash(hashing: controlSecret),
                grant: AccessGrant(
                    read: [pattern("/plant/**"), pattern("/plenum/devices/*/status")],
                    write: [pattern("/plant/line1/*/setpoint")],
                    metrics: true
                )
            ),
        ])
    }

    @Test func tokensNameTheirIdentity() throws {
        let dashboard = try #require(policy.authenticate(dashboardSecret))
        #expect(dashboard.name == "dashboard")
        #expect(dashboard.canRead(path("/plant/line1/chiller-1/supply_temp")))
        #expect(dashboard.canRead(path("/plant/line1")))
        #expect(!dashboard.canRead(path("/plant/line2/chiller-2/supply_temp")))
        #expect(!dashboard.canRead(path("/plenum/devices/chiller-1/status")))
        #expect(!dashboard.canWrite(path("/plant/line1/chiller-1/setpoint")))
        let control = try #require(policy.authenticate(controlSecret))
        #expect(control.canWrite(path("/plant/line1/chiller-1/setpoint")))
        #expect(!control.canWrite(path("/plant/line2/chiller-2/setpoint")))
        #expect(control.canRead(path("/plenum/devices/ahu-1/status")))
    }

    @Test func unknownTokensAreRefused() {
        #expect(policy.authenticate("nope") == nil)
        #expect(policy.authenticate("") == nil)
        #expect(policy.authenticate(dashboardSecret + "x") == nil)
        #expect(policy.unauthenticated == nil)
        #expect(policy.requiresToken)
    }

    @Test func withoutAuthEveryoneIsAnonymousAndMayDoEverything() throws {
        let policy = AccessPolicy.anonymous
        #expect(!policy.requiresToken)
        let anonymous = try #require(policy.unauthenticated)
        #expect(anonymous.name == "anonymous")
        #expect(anonymous.canRead(path("/plenum/devices/x/status")))
        #expect(anonymous.canWrite(path("/plant/line1/chiller-1/setpoint")))
        #expect(policy.allows(.metrics, to: nil, loopback: false))
    }

    @Test func subscriptionsAreJudgedByOverlap() throws {
        let dashboard = try #require(policy.authenticate(dashboardSecret))
        #expect(dashboard.mayRead(anyOf: pattern("/**")))
        #expect(dashboard.mayRead(anyOf: pattern("/plant/*/chiller-1/supply_temp")))
        #expect(dashboard.mayRead(anyOf: pattern("/plant/line1")))
        #expect(!dashboard.mayRead(anyOf: pattern("/plant/line2/**")))
        #expect(!dashboard.mayRead(anyOf: pattern("/plenum/**")))
        #expect(dashboard.canRead(allOf: pattern("/plant/line1/*/supply_temp")))
        #expect(!dashboard.canRead(allOf: pattern("/plant/*/chiller-1/supply_temp")))
    }

    @Test func patternOverlapAndCover() {
        #expect(pattern("/a/**").overlaps(pattern("/a")))
        #expect(pattern("/a/*/c").overlaps(pattern("/a/b/*")))
        #expect(!pattern("/a/*/c").overlaps(pattern("/a/b/d")))
        #expect(!pattern("/a/b").overlaps(pattern("/a/b/c")))
        #expect(pattern("/*/b/**").overlaps(pattern("/a/*/c/d")))
        #expect(pattern("/a/**").covers(pattern("/a/*/c")))
        #expect(pattern("/a/**").covers(pattern("/a")))
        #expect(!pattern("/a/*").covers(pattern("/a/**")))
        #expect(pattern("/a/*").covers(pattern("/a/b")))
        #expect(!pattern("/a/b").covers(pattern("/a/*")))
    }

    @Test func aReloadRevokesOrChangesTokensByTheirHash() throws {
        let dashboard = try #require(policy.authenticate(dashboardSecret))
        #expect(policy.current(dashboard) == dashboard)
        // The same name with a new secret is another token: the old one is revoked.
        let reissued = AccessPolicy(tokens: [
            .init(
                name: "dashboard",
                hash: TokenHash(hashing: "new"),
                grant: AccessGrant(read: [pattern("/plant/line1/**")])
            )
        ])
        #expect(reissued.current(dashboard) == nil)
        let widened = AccessPolicy(tokens: [
            .init(
                name: "dashboard",
                hash: TokenHash(hashing: dashboardSecret),
                grant: AccessGrant(read: [pattern("/**")])
            )
        ])
        #expect(widened.current(dashboard) != dashboard)
        #expect(widened.current(dashboard)?.name == "dashboard")
        #expect(AccessPolicy.anonymous.current(dashboard) == nil)
        #expect(policy.current(AccessPolicy.anonymousIdentity) == nil)
    }

    @Test func endpointsFollowTheirRule() throws {
        let control = try #require(policy.authenticate(controlSecret))
        let dashboard = try #require(policy.authenticate(dashboardSecret))
        #expect(policy.allows(.metrics, to: nil, loopback: true))
        #expect(!policy.allows(.metrics, to: nil, loopback: false))
        #expect(!policy.allows(.metrics, to: dashboard, loopback: false))
        #expect(policy.allows(.metrics, to: control, loopback: false))
        #expect(policy.allows(.health, to: nil, loopback: false))
        let strict = AccessPolicy(tokens: policy.tokens, metrics: .token, health: .token)
        #expect(!strict.allows(.metrics, to: nil, loopback: true))
        #expect(!strict.allows(.health, to: nil, loopback: true))
        #expect(strict.allows(.health, to: dashboard, loopback: false))
    }

    @Test func tokenHashesParseAndPrint() throws {
        let hash = TokenHash(hashing: "abc")
        #expect(hash.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try TokenHash(hash.description) == hash)
        #expect(try TokenHash("sha256:" + SHA256.hex(hash.digest).uppercased()) == hash)
        #expect(throws: TokenHash.Problem.badDigest) { try TokenHash("sha256:abc") }
        #expect(throws: TokenHash.Problem.unknownScheme("md5:00")) { try TokenHash("md5:00") }
    }

    @Test func generatedTokensAreFreshBase64URL() throws {
        let first = try TokenSecret.generate()
        let second = try TokenSecret.generate()
        #expect(first != second)
        #expect(first.utf8.count == TokenSecret.length)
        #expect(
            first.utf8.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
        )
        #expect(TokenSecret.base64URL([0xFB, 0xFF]) == "-_8")
        #expect(TokenSecret.base64URL(Array("foobar".utf8)) == "Zm9vYmFy")
    }
}
