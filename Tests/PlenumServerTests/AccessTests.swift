import CoreMetrics
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PlenumCore
import Testing

@testable import PlenumServer

/// Authentication forms, the Origin rule and per-channel subscription checks, without sockets.
@Suite struct AccessTests {
    static let secret = "line1-secret-abcdefghijklmnopqrstuvwxyz012345"
    static let policy = AccessPolicy(tokens: [
        .init(
            name: "line1",
            hash: TokenHash(hashing: secret),
            grant: AccessGrant(read: [try! ChannelPattern("/plant/line1/**")])
        )
    ])

    private func headers(_ pairs: [(String, String)]) -> HTTPHeaders { HTTPHeaders(pairs) }

    private func text(_ frame: (opcode: UInt8, payload: [UInt8])) -> String {
        String(decoding: frame.payload, as: UTF8.self)
    }

    // MARK: - Credentials

    @Test func bearerHeaderAndSubprotocolCarryTheToken() {
        #expect(RequestAccess.credential(headers([("Authorization", "Bearer abc")]), webSocket: true) == "abc")
        #expect(RequestAccess.credential(headers([("authorization", "bearer  abc ")]), webSocket: false) == "abc")
        #expect(RequestAccess.credential(headers([("Authorization", "Basic dXNlcg==")]), webSocket: true) == "")
        let browser = headers([("Sec-WebSocket-Protocol", "plenum, plenum.bearer.xyz")])
        #expect(RequestAccess.credential(browser, webSocket: true) == "xyz")
        #expect(RequestAccess.credential(browser, webSocket: false) == nil)
        #expect(RequestAccess.offersSubprotocol(browser))
        #expect(!RequestAccess.offersSubprotocol(headers([("Sec-WebSocket-Protocol", "plenum.bearer.xyz")])))
        #expect(RequestAccess.authenticate(nil, policy: Self.policy) == .missing)
        #expect(RequestAccess.authenticate("nope", policy: Self.policy) == .invalid)
        #expect(RequestAccess.authenticate("", policy: Self.policy) == .invalid)
        #expect(RequestAccess.authenticate(Self.secret, policy: Self.policy) != .invalid)
        #expect(
            RequestAccess.authenticate("anything", policy: .anonymous) == .identified(AccessPolicy.anonymousIdentity)
        )
    }

    // MARK: - Origin

    @Test func browsersMayConnectFromTheHubsOwnHostOrAnAllowedOrigin() {
        func refused(_ origin: String?, host: String = "gateway:8080", allowed: [String] = []) -> Bool {
            var pairs = [("Host", host)]
            if let origin { pairs.append(("Origin", origin)) }
            return RequestAccess.originRefusal(headers(pairs), allowed: allowed) != nil
        }
        #expect(!refused(nil))
        #expect(!refused("http://gateway:8080"))
        #expect(!refused("https://GATEWAY:3000"))
        #expect(!refused("http://[::1]:8080", host: "[::1]:8080"))
        #expect(refused("http://evil.example"))
        #expect(refused("http://gateway.evil.example:8080"))
        #expect(refused("null"))
        #expect(!refused("null", allowed: ["null"]))
        #expect(!refused("https://dash.example:8443", allowed: ["https://dash.example:8443"]))
        #expect(refused("https://dash.example", allowed: ["https://dash.example:8443"]))
        #expect(!refused("http://evil.example", allowed: ["*"]))
        let response = RequestAccess.originRefusal(
            headers([("Host", "gateway"), ("Origin", "http://evil.example")]),
            allowed: []
        )
        #expect(response?.status == .forbidden)
    }

    // MARK: - Subscriptions

    @Test func aPatternTheTokenCanReadNothingOfIsRefusedByName() throws {
        var set = SubscriptionSet(limit: 10)
        set.reader = try #require(Self.policy.authenticate(Self.secret))
        let actions = set.received(
            text: Array(#"{"op":"subscribe","channels":["/plant/**","/plant/line2/**"],"id":4}"#.utf8)
        )
        guard case .refuse(let error) = actions.first else {
            Issue.record("expected a refusal, got \(actions)")
            return
        }
        #expect(error.code == .forbidden)
        #expect(error.message == "token 'line1' may read no channel matching '/plant/line2/**'")
        #expect(error.id == .integer(4))
        #expect(set.patterns.isEmpty)
        let partial = set.received(text: Array(#"{"op":"subscribe","channels":["/**"]}"#.utf8))
        #expect(partial.contains(.index([try ChannelPattern("/**")])))
    }

    // MARK: - REST and history: one check

    @Test func historyAndChannelRoutesAskTheSameCheck() throws {
        let logger = Logger(label: "test")
        let routes = HTTPRoutes(
            store: ChannelStore(epoch: "e"),
            access: ServerAccess(
                ServerSecurity(policy: Self.policy),
                failures: AuthFailureLog(
                    logger: logger,
                    counter: Counter(label: "f", factory: NOOPMetricsHandler.instance)
                )
            ),
            connectionLimit: 10,
            metricsText: nil,
            isReady: { true },
            history: HistoryRouteTests.SlowSource()
        )
        func head(_ uri: String, token: String?) -> HTTPRequestHead {
            var headers = HTTPHeaders()
            if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
            return HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
        }
        func status(_ routing: HTTPRoutes.HistoryRouting?) -> HTTPResponseStatus? {
            switch routing {
            case .respond(let response)?: response.status
            case .ask?: .ok
            case nil: nil
            }
        }
        #expect(status(routes.history(head("/api/history/plant/line1/a?step=raw", token: Self.secret))) == .ok)
        #expect(status(routes.history(head("/api/history/plant/line2/b", token: Self.secret))) == .forbidden)
        #expect(status(routes.history(head("/api/history/plant/line1/a", token: nil))) == .unauthorized)
        #expect(status(routes.history(head("/api/history/plant/line1/a?step=bad", token: nil))) == .unauthorized)
        #expect(status(routes.history(head("/api/history/plant/line1/a", token: "guess"))) == .unauthorized)
        #expect(routes.route(head("/api/channels/plant/line2/b", token: Self.secret)).status == .forbidden)
        #expect(routes.route(head("/api/channels/plant/line1/a", token: Self.secret)).status == .notFound)
    }

    // MARK: - First-message authentication

    @Test func aConnectionWithoutATokenGetsNothingUntilItAuthenticates() throws {
        let c = try WebSocketHandlerTests.Connection(policy: Self.policy, authentication: .missing)
        #expect(try c.frames().isEmpty)
        try c.send(text: #"{"op":"auth","token":"\#(Self.secret)"}"#)
        let welcome = try c.frames()
        #expect(welcome.count == 1)
        #expect(text(welcome[0]).contains(#""identity":"line1""#))
        try c.send(text: #"{"op":"auth","token":"\#(Self.secret)","id":2}"#)
        #expect(text(try c.frames()[0]).contains("already authenticated"))
    }

    @Test func anUnknownTokenInTheAuthMessageCloses4001() throws {
        let c = try WebSocketHandlerTests.Connection(policy: Self.policy, authentication: .missing)
        try c.send(text: #"{"op":"auth","token":"guess"}"#)
        #expect(try c.closeCode() == 4001)
    }

    @Test func anyOtherFirstMessageCloses4001() throws {
        let c = try WebSocketHandlerTests.Connection(policy: Self.policy, authentication: .missing)
        try c.send(text: #"{"op":"subscribe","channels":["/**"]}"#)
        #expect(try c.closeCode() == 4001)
    }

    @Test func anUnknownSubprotocolTokenCloses4001() throws {
        let c = try WebSocketHandlerTests.Connection(policy: Self.policy, authentication: .invalid)
        #expect(try c.closeCode() == 4001)
    }

    @Test func noAuthMessageWithinTheDeadlineCloses4001() throws {
        let c = try WebSocketHandlerTests.Connection(policy: Self.policy, authentication: .missing)
        (c.channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: PushScheduler.authDeadline)
        #expect(try c.closeCode() == 4001)
    }
}
