import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// More of docs/security.md against the built binary: a token added by a reload works at once, a
/// token in the URL is never accepted, and the default `metrics: local` rule.
@Suite(.serialized) struct AccessPromisesTests {
    private let secrets = SecuredHub.secrets

    /// "Added tokens work for the next connection": refused before the SIGHUP, accepted right
    /// after it in every form (header, subprotocol, `auth` message) and over REST, with its grant.
    @Test func aTokenAddedByAReloadWorksForTheNextConnection() async throws {
        var tokens = SecuredHub.standardTokens
        tokens["spare"] = nil
        let hub = try await SecuredHub.start(tokens: tokens)
        defer { hub.stop() }
        let spare = secrets["spare"]!
        try await hub.waitForChannel("/plant/line1/a", token: secrets["all"]!)
        let cases = JSONValue.array(
            ["header", "subprotocol", "message"].map { .array([.string($0), .string(spare), .string("/plant/**")]) }
        )
        let before = try await hub.client("acl_matrix", [cases.jsonString, "0.5"])["results"]?.arrayValue ?? []
        try #require(before.count == 3)
        #expect(before[0]["status"] == .integer(401), "\(before[0])")
        #expect(before[1]["closed"] == .integer(4001), "\(before[1])")
        #expect(before[2]["closed"] == .integer(4001), "\(before[2])")
        #expect(try await hub.curl("/api/channels/plant/line1/a", token: spare).status == 401)

        tokens["spare"] = "read: [/plant/line1/**]"
        try await hub.reload(tokens: tokens)
        #expect(hub.hub.text.contains("access reloaded"), "\(hub.hub.text)")
        // At once: the first request after the reload, no retry.
        #expect(try await hub.curl("/api/channels/plant/line1/a", token: spare).status == 200)
        #expect(try await hub.curl("/api/channels/plant/line2/b", token: spare).status == 403)
        let after = try await hub.client("acl_matrix", [cases.jsonString, "1.0"])["results"]?.arrayValue ?? []
        try #require(after.count == 3)
        for result in after {
            #expect(result["welcome"]?["identity"] == .string("spare"), "\(result)")
            let snapshot = result["snapshot"]?.strings ?? []
            #expect(snapshot.contains("/plant/line1/a"), "\(result)")
            #expect(snapshot.allSatisfy { $0.hasPrefix("/plant/line1/") }, "\(result)")
        }
    }

    /// "Never accepted in the URL": a valid token in the query string counts as no token. A
    /// WebSocket gets nothing (not even the `welcome`) and is closed with 4001 when no `auth`
    /// message comes; REST answers 401; the secret does not show up in the hub's log.
    @Test func aTokenInTheURLIsNeverAccepted() async throws {
        let hub = try await SecuredHub.start()
        defer { hub.stop() }
        let all = secrets["all"]!
        try await hub.waitForChannel("/plant/line1/a", token: all)
        // The hub closes after 5 s without `auth`; the client stops at the close, so its 9 s bound
        // only leaves room for a loaded machine.
        let results = try await hub.client("url_token", [all, "9"])["results"]?.arrayValue ?? []
        try #require(results.count == 3)
        for result in results {
            #expect(result["types"] == .array([]), "\(result)")
            #expect(result["closed"] == .integer(4001), "\(result)")
        }
        for path in ["/api/channels?token=\(all)", "/api/channels/plant/line1/a?access_token=\(all)"] {
            let answer = try await hub.curl(path)
            #expect(answer.status == 401, "\(path): \(answer)")
        }
        #expect(try await hub.curl("/api/channels/plant/line1/a", token: all).status == 200)
        #expect(!hub.hub.text.contains(all))
    }

    /// The default `auth.metrics: local`: `/metrics` is open to clients on the loopback interface
    /// and needs a token with `metrics: true` from any other address; `/healthz` stays open
    /// (`health: any`); channel data needs a token from everywhere. The hub listens on 127.0.0.1;
    /// "another address" is this machine's own non-loopback address as the client's source.
    @Test func metricsAreOpenToThisMachineAndNeedAMetricsTokenFromElsewhere() async throws {
        let hub = try await SecuredHub.start()
        defer { hub.stop() }
        let (line1, metrics) = (secrets["line1"]!, secrets["metrics"]!)
        let local = try await hub.curl("/metrics")
        #expect(local.status == 200)
        #expect(local.body.contains("plenum_ws_connections"), "\(local.body.prefix(300))")
        #expect(try await hub.curl("/metrics", token: line1).status == 200)
        #expect(try await hub.curl("/metrics", token: "guess").status == 401)
        #expect(try await hub.curl("/api/channels").status == 401)

        guard let address = nonLoopbackIPv4Address() else {
            Issue.record("this machine has no non-loopback IPv4 address: the remote half is not checked")
            return
        }
        let remote = ["--interface", address]
        let anonymous = try await hub.curl("/metrics", extra: remote)
        #expect(anonymous.status == 401, "from \(address): \(anonymous)")
        #expect(try await hub.curl("/metrics", token: line1, extra: remote).status == 403)
        let granted = try await hub.curl("/metrics", token: metrics, extra: remote)
        #expect(granted.status == 200)
        #expect(granted.body.contains("plenum_ws_connections"))
        #expect(try await hub.curl("/healthz", extra: remote).status == 200)
        #expect(try await hub.curl("/api/channels", extra: remote).status == 401)
    }

    /// The first IPv4 address of this machine outside 127.0.0.0/8.
    private func nonLoopbackIPv4Address() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else {
                continue
            }
            let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            guard UInt32(bigEndian: ipv4.s_addr) >> 24 != 127 else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var copy = ipv4
            guard inet_ntop(AF_INET, &copy, &text, socklen_t(text.count)) != nil else { continue }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }
}
