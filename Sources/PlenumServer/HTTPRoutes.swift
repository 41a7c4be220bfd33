import NIOCore
import NIOHTTP1
import PlenumCore

/// What each HTTP request gets: pure apart from reading the store, the current access policy
/// and the callbacks.
///
/// Access is decided here, once per request, before any route runs (`caller`): a channel is
/// served only to a caller whose token may read it (`readable`), whatever route serves it.
struct HTTPRoutes: Sendable {
    let store: ChannelStore
    let access: ServerAccess
    let connectionLimit: Int
    let metricsText: (@Sendable () -> [UInt8])?
    let isReady: @Sendable () -> Bool
    /// Parts reported under `details` in `GET /readyz` (the trend store).
    var readinessDetails: @Sendable () -> [String: JSONValue] = { [:] }
    /// Answers `GET /api/history/<path>` (`HTTPRoutes+History.swift`); nil: trends are off.
    var history: (any HistorySource)?
    /// Where `PUT /api/channels/<path>` goes (`HTTPRoutes+Writes.swift`); nil: no writes.
    var commands: CommandRouter?
    /// The dashboard's files (`HTTPRoutes+Dashboard.swift`); nil: `/` answers 404.
    var dashboard: DashboardFiles?

    /// Who sent a request.
    enum Caller {
        /// A valid token, or everyone on an anonymous hub.
        case identified(Identity)
        /// No token, on a hub that needs one: only open endpoints answer.
        case nobody
    }

    func route(_ head: HTTPRequestHead, from remote: SocketAddress? = nil) -> HTTPResponse {
        let target = WebSocketTarget(uri: head.uri)
        if target != .notWebSocket {
            // The upgrader refused this request: say why.
            return WebSocketHandshake.refusal(head, target: target)
                ?? RequestAccess.upgradeRefusal(head, security: access.security)
                ?? HTTPResponse(.badRequest, error: WebSocketHandshake.usage)
        }
        // The dashboard's files hold no channel data: served to anyone, before the token check (the
        // page then asks the user for a token: docs/dashboard.md).
        if let file = dashboardFile(head) { return file }
        guard let caller = caller(of: head, from: remote) else { return RequestAccess.unauthorized("unknown token") }
        let loopback = RequestAccess.isLoopback(remote)
        let path = WebSocketTarget.path(of: head.uri)
        let isGet = head.method == .GET || head.method == .HEAD
        switch path {
        case "/healthz":
            guard isGet else { return .methodNotAllowed }
            if let refusal = refusal(.health, caller, loopback: loopback) { return refusal }
            return HTTPResponse(.ok, json: #"{"status":"ok"}"#)
        case "/metrics":
            guard isGet else { return .methodNotAllowed }
            if let refusal = refusal(.metrics, caller, loopback: loopback) { return refusal }
            guard let metricsText else { return HTTPResponse(.notFound, error: "metrics are not enabled") }
            var response = HTTPResponse(.ok, body: metricsText())
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return response
        case "/readyz":
            guard isGet else { return .methodNotAllowed }
            if let refusal = refusal(.health, caller, loopback: loopback) { return refusal }
            let ready = isReady()
            var body: [String: JSONValue] = ["status": .string(ready ? "ready" : "starting")]
            let details = readinessDetails()
            if !details.isEmpty { body["details"] = .object(details) }
            return HTTPResponse(ready ? .ok : .serviceUnavailable, body: JSONValue.object(body).jsonBytes)
        case "/api/channels":
            guard isGet else { return .methodNotAllowed }
            guard case .identified(let identity) = caller else { return RequestAccess.unauthorized("no token") }
            var out = Array(#"{"epoch":"#.utf8)
            JSONValue.encodeString(store.epoch, into: &out)
            out.append(contentsOf: #","channels":["#.utf8)
            var first = true
            for version in store.all() where identity.canRead(version.path) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: #"{"channel":"#.utf8)
                JSONValue.encodeString(version.path.string, into: &out)
                out.append(contentsOf: #","version":\#(version.version),"ts":\#(version.timestamp)}"#.utf8)
            }
            out.append(contentsOf: "]}".utf8)
            return HTTPResponse(.ok, body: out)
        default:
            guard path.hasPrefix("/api/channels/") else {
                return HTTPResponse(.notFound, error: "no such route: \(path)")
            }
            guard isGet else { return .methodNotAllowed(allowing: "GET, HEAD, PUT") }
            let channel = String(path.dropFirst("/api/channels".count))
            let decoded = WebSocketTarget.percentDecode(channel) ?? channel
            guard let channelPath = try? ChannelPath(decoded) else {
                return HTTPResponse(.badRequest, error: "'\(decoded)' is not a valid channel path")
            }
            if let refusal = readable(channelPath, by: caller) { return refusal }
            guard let version = store.latest(channelPath) else {
                return HTTPResponse(.notFound, error: "no such channel: \(channelPath)")
            }
            var out: [UInt8] = []
            version.appendSnapshotEntry(to: &out)
            return HTTPResponse(.ok, body: out)
        }
    }

    /// Who sent `head`: nil when it presented an unknown token (counted and logged here; answer
    /// `RequestAccess.unauthorized("unknown token")`). Every route authenticates through this.
    func caller(of head: HTTPRequestHead, from remote: SocketAddress?) -> Caller? {
        switch RequestAccess.authenticate(
            RequestAccess.credential(head.headers, webSocket: false),
            policy: access.policy
        ) {
        case .identified(let identity): return .identified(identity)
        case .missing: return .nobody
        case .invalid:
            access.failures.record(from: remote.map { "\($0)" } ?? "unknown")
            return nil
        }
    }

    /// Nil when `caller` may read `channel`; otherwise the answer: 401 without a token, 403 with
    /// one that may not read it (given before looking the channel up, so a refusal says nothing
    /// about whether the channel exists). Every route serving a channel's data asks this.
    func readable(_ channel: ChannelPath, by caller: Caller) -> HTTPResponse? {
        guard case .identified(let identity) = caller else { return RequestAccess.unauthorized("no token") }
        guard identity.canRead(channel) else {
            return HTTPResponse(.forbidden, error: "token '\(identity.name)' may not read \(channel)")
        }
        return nil
    }

    /// Nil when `caller` may `GET` `endpoint`; otherwise 401 (no token) or 403.
    private func refusal(_ endpoint: AccessPolicy.Endpoint, _ caller: Caller, loopback: Bool) -> HTTPResponse? {
        let identity: Identity?
        if case .identified(let known) = caller { identity = known } else { identity = nil }
        if access.policy.allows(endpoint, to: identity, loopback: loopback) { return nil }
        guard let identity else { return RequestAccess.unauthorized("no token") }
        let what = endpoint == .metrics ? "metrics (it needs metrics: true)" : "health"
        return HTTPResponse(.forbidden, error: "token '\(identity.name)' may not read \(what)")
    }
}
