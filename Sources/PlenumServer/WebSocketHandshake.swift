import NIOHTTP1

/// The RFC 6455 §4.2.1 opening-handshake rules, as one pure check: the upgrader accepts only
/// what passes it, and the HTTP handler answers everything else with the reason.
enum WebSocketHandshake {
    static let usage =
        "this is a WebSocket endpoint; send GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13"

    /// Why a request on a `/ws…` path cannot be upgraded, as the answer to send; nil when it can.
    static func refusal(_ head: HTTPRequestHead, target: WebSocketTarget) -> HTTPResponse? {
        if case .invalid(let problem) = target { return HTTPResponse(.badRequest, error: problem) }
        guard target.isUpgradable else { return HTTPResponse(.notFound, error: "not a WebSocket path") }
        let upgrade = head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        let connection = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        let versions = head.headers["Sec-WebSocket-Version"]
        let keys = head.headers["Sec-WebSocket-Key"]
        guard upgrade, connection else { return HTTPResponse(.badRequest, error: usage) }
        guard head.method == .GET else {
            return HTTPResponse(
                .methodNotAllowed,
                error: "a WebSocket handshake must be a GET",
                headers: [("Allow", "GET")]
            )
        }
        guard !versions.isEmpty else { return HTTPResponse(.badRequest, error: usage) }
        guard versions == ["13"] else {
            return HTTPResponse(
                .upgradeRequired,
                error: "unsupported WebSocket version \(versions.joined(separator: ", ")); this server speaks 13",
                headers: [("Sec-WebSocket-Version", "13")]
            )
        }
        guard let key = keys.first, keys.count == 1 else { return HTTPResponse(.badRequest, error: usage) }
        guard isValidKey(key) else {
            return HTTPResponse(.badRequest, error: "Sec-WebSocket-Key must be 16 random bytes, base64-encoded")
        }
        return nil
    }

    /// A key is 16 bytes in base64: 22 alphabet characters and `==`.
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[..<22].allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                true
            default: false
            }
        }
    }
}
