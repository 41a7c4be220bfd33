import NIOCore
import NIOHTTP1
import PlenumCore

/// `GET /api/history/<path>?from=&to=&step=`: parsed here (`HistoryRequest`), answered by the
/// `HistorySource` the hub wired in (the trend store) off the event loop;
/// `HTTPRequestHandler` writes the answer when it comes.
extension HTTPRoutes {
    /// What to do with a history request.
    enum HistoryRouting {
        /// Answer at once (a malformed request, trends off).
        case respond(HTTPResponse)
        /// Ask `source`, then answer with `HTTPRoutes.historyResponse(_:csv:)`.
        case ask(any HistorySource, HistoryQuery, csv: Bool)
    }

    /// Nil when `head` is not for `/api/history…`.
    func history(_ head: HTTPRequestHead, from remote: SocketAddress? = nil) -> HistoryRouting? {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first ?? ""
        guard path == "/api/history" || path.hasPrefix("/api/history/") else { return nil }
        guard head.method == .GET || head.method == .HEAD else { return .respond(.methodNotAllowed) }
        // Who asks, before anything about the channel is looked at (401 before 400).
        guard let caller = caller(of: head, from: remote) else {
            return .respond(RequestAccess.unauthorized("unknown token"))
        }
        guard case .identified = caller else { return .respond(RequestAccess.unauthorized("no token")) }
        let channel = String(path.dropFirst("/api/history".count))
        let query: HistoryQuery
        do throws(HistoryError) {
            guard let decoded = HistoryRequest.percentDecode(channel) else {
                throw HistoryError(.badRequest, "'\(channel)' has an invalid %-escape")
            }
            query = try HistoryRequest.parse(
                channel: decoded,
                query: parts.count > 1 ? String(parts[1]) : "",
                now: ChannelStore.nowMicros()
            )
        } catch {
            return .respond(Self.historyResponse(.failure(error), csv: false))
        }
        // The channel's read permission, by the same check as GET /api/channels/<path>.
        if let refusal = readable(query.channel, by: caller) { return .respond(refusal) }
        guard let history else {
            let error = HistoryError(.disabled, "trends are off; set trends.enabled: true in hub.yaml")
            return .respond(Self.historyResponse(.failure(error), csv: false))
        }
        return .ask(history, query, csv: HistoryRequest.wantsCSV(accept: head.headers.first(name: "accept")))
    }

    /// JSON (or CSV) with 200, or the error as `{"error":"…","code":"…"}` with its status.
    static func historyResponse(_ result: Result<HistoryResult, HistoryError>, csv: Bool) -> HTTPResponse {
        switch result {
        case .success(let answer):
            var response = HTTPResponse(.ok, body: csv ? answer.csvBytes : answer.jsonBytes)
            if csv { response.contentType = "text/csv; charset=utf-8" }
            return response
        case .failure(let error):
            return HTTPResponse(HTTPResponseStatus(statusCode: error.code.httpStatus), body: error.jsonBytes)
        }
    }
}
