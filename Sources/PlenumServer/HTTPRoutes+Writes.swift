import NIOHTTP1
import PlenumCore

/// `PUT /api/channels/<path>` with a JSON body: a write, answered with the outcome as an HTTP
/// status and `{"channel":…,"ok":…,"code":…,"message":…}` (the fields of the WebSocket
/// `written` message). `HTTPRequestHandler` sends the answer when the write is settled.
extension HTTPRoutes {
    enum WriteRouting {
        /// Answer at once (a malformed request, no writes on this hub).
        case respond(HTTPResponse)
        /// Submit to `router`; answer with `writtenResponse` when it is settled.
        case submit(CommandRouter, WriteRequest)
    }

    /// Nil when `head` is not a `PUT` to `/api/channels/<path>`. The body is the value itself
    /// (`7.5`, `true`, `"auto"`) or an object holding it under `"value"` (`{"value": 7.5}`).
    func write(_ head: HTTPRequestHead, body: [UInt8]) -> WriteRouting? {
        guard head.method == .PUT else { return nil }
        let path = WebSocketTarget.path(of: head.uri)
        guard path.hasPrefix("/api/channels/") else { return nil }
        let text = String(path.dropFirst("/api/channels".count))
        let decoded = WebSocketTarget.percentDecode(text) ?? text
        guard let channel = try? ChannelPath(decoded) else {
            return .respond(Self.refusal(.badRequest, "invalid_message", "'\(decoded)' is not a valid channel path"))
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(body)
        } catch {
            return .respond(Self.refusal(.badRequest, "invalid_json", "the body must be a JSON value: \(error)"))
        }
        var value = json
        if case .object(let fields) = json, let inner = fields["value"] { value = inner }
        guard let commands else {
            return .respond(
                Self.writtenResponse(WriteOutcome(.notWritable, "this hub takes no writes"), channel: channel)
            )
        }
        return .submit(commands, WriteRequest(channel: channel, value: value, via: "rest"))
    }

    /// The outcome as a status and a JSON body.
    static func writtenResponse(_ outcome: WriteOutcome, channel: ChannelPath) -> HTTPResponse {
        HTTPResponse(
            status(of: outcome.code),
            body: JSONValue.object(ServerMessage.writtenFields(outcome, channel: channel)).jsonBytes
        )
    }

    /// docs/protocol.md, "Writing": one status per outcome.
    static func status(of code: WriteOutcome.Code) -> HTTPResponseStatus {
        switch code {
        case .ok: .ok
        case .wrongType, .outOfRange: .unprocessableEntity
        case .notWritable: .methodNotAllowed
        case .forbidden: .forbidden
        case .rateLimited: .tooManyRequests
        case .busy, .deviceUnavailable: .serviceUnavailable
        case .timeout: .gatewayTimeout
        case .rejected: .conflict
        }
    }

    private static func refusal(_ status: HTTPResponseStatus, _ code: String, _ message: String) -> HTTPResponse {
        HTTPResponse(
            status,
            body: JSONValue.object(["ok": .bool(false), "code": .string(code), "message": .string(message)]).jsonBytes
        )
    }
}
