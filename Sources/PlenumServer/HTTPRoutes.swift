import NIOHTTP1
import PlenumCore

/// What each HTTP request gets: pure apart from reading the store and the callbacks.
struct HTTPRoutes: Sendable {
    let store: ChannelStore
    let connectionLimit: Int
    let metricsText: (@Sendable () -> [UInt8])?
    let isReady: @Sendable () -> Bool
    /// Parts reported under `details` in `GET /readyz` (the trend store).
    var readinessDetails: @Sendable () -> [String: JSONValue] = { [:] }
    /// Answers `GET /api/history/<path>` (`HTTPRoutes+History.swift`); nil: trends are off.
    var history: (any HistorySource)?
    /// Where `PUT /api/channels/<path>` goes (`HTTPRoutes+Writes.swift`); nil: no writes.
    var commands: CommandRouter?

    func route(_ head: HTTPRequestHead) -> HTTPResponse {
        let target = WebSocketTarget(uri: head.uri)
        if target != .notWebSocket {
            // The upgrader refused this request: say why.
            return WebSocketHandshake.refusal(head, target: target)
                ?? HTTPResponse(.badRequest, error: WebSocketHandshake.usage)
        }
        let path = WebSocketTarget.path(of: head.uri)
        let isGet = head.method == .GET || head.method == .HEAD
        switch path {
        case "/healthz":
            guard isGet else { return .methodNotAllowed }
            return HTTPResponse(.ok, json: #"{"status":"ok"}"#)
        case "/metrics":
            guard isGet else { return .methodNotAllowed }
            guard let metricsText else { return HTTPResponse(.notFound, error: "metrics are not enabled") }
            var response = HTTPResponse(.ok, body: metricsText())
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return response
        case "/readyz":
            guard isGet else { return .methodNotAllowed }
            let ready = isReady()
            var body: [String: JSONValue] = ["status": .string(ready ? "ready" : "starting")]
            let details = readinessDetails()
            if !details.isEmpty { body["details"] = .object(details) }
            return HTTPResponse(ready ? .ok : .serviceUnavailable, body: JSONValue.object(body).jsonBytes)
        case "/api/channels":
            guard isGet else { return .methodNotAllowed }
            var out = Array(#"{"epoch":"#.utf8)
            JSONValue.encodeString(store.epoch, into: &out)
            out.append(contentsOf: #","channels":["#.utf8)
            for (index, version) in store.all().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
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
            guard let version = store.latest(channelPath) else {
                return HTTPResponse(.notFound, error: "no such channel: \(channelPath)")
            }
            var out: [UInt8] = []
            version.appendSnapshotEntry(to: &out)
            return HTTPResponse(.ok, body: out)
        }
    }
}
