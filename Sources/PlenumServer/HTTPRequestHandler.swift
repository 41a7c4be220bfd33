import NIOCore
import NIOHTTP1
import NIOWebSocket
import PlenumCore

/// Plain HTTP on the WebSocket port: the REST view of the channels, health, and clear
/// answers to requests on `/ws/…` that could not be upgraded.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let store: ChannelStore
    private let counter: ConnectionCounter
    private let isReady: @Sendable () -> Bool
    private let metricsText: (@Sendable () -> [UInt8])?
    private var request: HTTPRequestHead?

    init(
        store: ChannelStore,
        counter: ConnectionCounter,
        metricsText: (@Sendable () -> [UInt8])?,
        isReady: @escaping @Sendable () -> Bool
    ) {
        self.store = store
        self.counter = counter
        self.metricsText = metricsText
        self.isReady = isReady
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let response = route(head)
            respond(context: context, head: head, response)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Failed upgrades are reported here before the request is handed to us as plain
        // HTTP; `route` answers them. Anything else ends the connection.
        if error is NIOWebSocketUpgradeError { return }
        if let error = error as? HTTPParserError {
            respond(
                context: context,
                head: nil,
                HTTPResponse(.badRequest, error: "malformed HTTP request (\(error))")
            )
            return
        }
        context.close(promise: nil)
    }

    /// What to answer; pure apart from reading the store.
    func route(_ head: HTTPRequestHead) -> HTTPResponse {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        if path == "/ws" || path.hasPrefix("/ws/") {
            if counter.isFull {
                return HTTPResponse(.serviceUnavailable, error: "too many connections (limit \(counter.limit))")
            }
            if case .invalid(let problem) = PushServer.target(uri: head.uri) {
                return HTTPResponse(.badRequest, error: problem)
            }
            return HTTPResponse(
                .badRequest,
                error:
                    "this is a WebSocket endpoint; send GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13"
            )
        }
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
            return isReady()
                ? HTTPResponse(.ok, json: #"{"status":"ready"}"#)
                : HTTPResponse(.serviceUnavailable, json: #"{"status":"starting"}"#)
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
            guard isGet else { return .methodNotAllowed }
            let channel = String(path.dropFirst("/api/channels".count))
            let decoded = PushServer.percentDecode(channel) ?? channel
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

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead?, _ response: HTTPResponse) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        if let allow = response.allow { headers.add(name: "Allow", value: allow) }
        let keepAlive = head?.isKeepAlive ?? false
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let version = head?.version ?? .http1_1
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
            promise: nil
        )
        if head?.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// An HTTP answer: status and JSON body.
struct HTTPResponse {
    var status: HTTPResponseStatus
    var body: [UInt8]
    var allow: String?
    var contentType = "application/json"

    init(_ status: HTTPResponseStatus, body: [UInt8], allow: String? = nil) {
        self.status = status
        self.body = body
        self.allow = allow
    }

    init(_ status: HTTPResponseStatus, json: String) { self.init(status, body: Array(json.utf8)) }

    init(_ status: HTTPResponseStatus, error: String) {
        self.init(status, body: JSONValue.object(["error": .string(error)]).jsonBytes)
    }

    static let methodNotAllowed = HTTPResponse(
        .methodNotAllowed,
        body: JSONValue.object(["error": .string("method not allowed; use GET")]).jsonBytes,
        allow: "GET, HEAD"
    )
}
