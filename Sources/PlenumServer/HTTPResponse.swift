import NIOHTTP1
import PlenumCore

/// An HTTP answer: status, body and the few headers Plenum sets.
struct HTTPResponse: Equatable {
    var status: HTTPResponseStatus
    var body: [UInt8]
    var contentType = "application/json"
    /// Extra headers (`Allow`, `Sec-WebSocket-Version`).
    var headers: [(String, String)] = []
    /// Close the connection after this answer, whatever the request asked.
    var closes = false

    init(_ status: HTTPResponseStatus, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    init(_ status: HTTPResponseStatus, json: String) { self.init(status, body: Array(json.utf8)) }

    init(_ status: HTTPResponseStatus, error: String, headers: [(String, String)] = []) {
        self.init(status, body: JSONValue.object(["error": .string(error)]).jsonBytes, headers: headers)
    }

    static let methodNotAllowed = HTTPResponse(
        .methodNotAllowed,
        error: "method not allowed; use GET",
        headers: [("Allow", "GET, HEAD")]
    )

    /// 405 for a route that takes `methods` (`"GET, HEAD, PUT"`).
    static func methodNotAllowed(allowing methods: String) -> HTTPResponse {
        HTTPResponse(
            .methodNotAllowed,
            error: "method not allowed; use one of \(methods)",
            headers: [("Allow", methods)]
        )
    }

    /// The header `name` (case-insensitive), if set.
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body && lhs.contentType == rhs.contentType
            && lhs.closes == rhs.closes
            && lhs.headers.map { "\($0.0): \($0.1)" } == rhs.headers.map { "\($0.0): \($0.1)" }
    }
}
