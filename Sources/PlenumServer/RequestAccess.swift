import NIOCore
import NIOHTTP1
import PlenumCore

/// How a request says who it is, and whether it may open a WebSocket: the credential forms,
/// the Origin rule, and the HTTP answers to refusals. Pure; docs/protocol.md ("Authentication").
enum RequestAccess {
    /// What the policy makes of a request's credential.
    enum Outcome: Equatable {
        /// A valid token (or the anonymous identity of a hub without `auth:`).
        case identified(Identity)
        /// The hub needs a token and none was presented.
        case missing
        /// A token was presented and matches none (or the header is malformed).
        case invalid
    }

    /// The subprotocol the hub speaks, echoed when a client offers it.
    static let subprotocol = "plenum"
    /// A browser's token as an offered subprotocol: `plenum.bearer.<token>`.
    static let bearerPrefix = "plenum.bearer."

    /// The credential of an HTTP request or upgrade: `Authorization: Bearer <token>`, else (for
    /// a WebSocket) an offered `plenum.bearer.<token>` subprotocol. `.some("")` when an
    /// `Authorization` header is there but is not one Bearer token (always invalid).
    static func credential(_ headers: HTTPHeaders, webSocket: Bool) -> String? {
        let authorization = headers["Authorization"]
        if !authorization.isEmpty {
            guard authorization.count == 1 else { return "" }
            let value = authorization[0].trimmingSpaces
            guard value.utf8.count > 7, value.lowercased().hasPrefix("bearer ") else { return "" }
            return String(value.dropFirst(7)).trimmingSpaces
        }
        guard webSocket else { return nil }
        for offered in offeredSubprotocols(headers) where offered.hasPrefix(bearerPrefix) {
            return String(offered.dropFirst(bearerPrefix.count))
        }
        return nil
    }

    static func offeredSubprotocols(_ headers: HTTPHeaders) -> [String] {
        headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",").map { String($0).trimmingSpaces } }
    }

    /// Whether the client offered the `plenum` subprotocol (the hub then selects it).
    static func offersSubprotocol(_ headers: HTTPHeaders) -> Bool {
        offeredSubprotocols(headers).contains(subprotocol)
    }

    static func authenticate(_ credential: String?, policy: AccessPolicy) -> Outcome {
        guard let credential else { return policy.unauthenticated.map { .identified($0) } ?? .missing }
        if !policy.requiresToken { return .identified(AccessPolicy.anonymousIdentity) }
        guard !credential.isEmpty, let identity = policy.authenticate(credential) else { return .invalid }
        return .identified(identity)
    }

    /// Why an upgrade that passed the RFC 6455 checks is refused: a browser Origin not allowed
    /// (403), or an `Authorization` header with an unknown token (401). Nil: upgrade (a token
    /// that is missing, or offered as a subprotocol, is dealt with on the WebSocket).
    static func upgradeRefusal(_ head: HTTPRequestHead, security: ServerSecurity) -> HTTPResponse? {
        if let refusal = originRefusal(head.headers, allowed: security.allowedOrigins) { return refusal }
        if !head.headers["Authorization"].isEmpty,
            authenticate(credential(head.headers, webSocket: false), policy: security.policy) == .invalid
        {
            return unauthorized("unknown token")
        }
        return nil
    }

    /// A browser (`Origin` header) may open a WebSocket only from the hub's own host (the
    /// `Origin`'s host equals the `Host` header's, ports aside) or from an origin in
    /// `server.allowed_origins`. No `Origin`: not a browser, allowed.
    static func originRefusal(_ headers: HTTPHeaders, allowed: [String]) -> HTTPResponse? {
        let origins = headers["Origin"]
        guard let origin = origins.first else { return nil }
        let normalized = origin.lowercased()
        if origins.count == 1 {
            if allowed.contains("*") || allowed.contains(normalized) { return nil }
            if let host = host(ofOrigin: normalized), let header = headers["Host"].first,
                host == self.host(ofAuthority: header.lowercased())
            {
                return nil
            }
        }
        return HTTPResponse(
            .forbidden,
            error:
                "a page from origin '\(origin)' may not open a WebSocket on this hub; add the origin to server.allowed_origins in hub.yaml"
        )
    }

    /// `example.com` from `https://example.com:8443`; nil for `null` and other opaque origins.
    static func host(ofOrigin origin: String) -> String? {
        guard let separator = origin.firstRange(of: "://") else { return nil }
        let authority = origin[separator.upperBound...].prefix { $0 != "/" }
        return authority.isEmpty ? nil : host(ofAuthority: String(authority))
    }

    /// `example.com` from `example.com:8080`, `[::1]` from `[::1]:8080`.
    static func host(ofAuthority authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[...end])
        }
        return String(authority.prefix { $0 != ":" })
    }

    /// 401 with the `WWW-Authenticate` challenge of RFC 6750.
    static func unauthorized(_ reason: String) -> HTTPResponse {
        let error = reason == "unknown token" ? #", error="invalid_token""# : ""
        return HTTPResponse(
            .unauthorized,
            error: "\(reason): send Authorization: Bearer <token> (docs/security.md)",
            headers: [("WWW-Authenticate", #"Bearer realm="plenum""# + error)]
        )
    }

    /// Whether `address` is on the loopback interface.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        switch address {
        case .v4(let v4)?:
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6)?:
            let ip = v6.host.lowercased()
            return ip == "::1" || ip.hasPrefix("::ffff:127.")
        default:
            return false
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
