import NIOHTTP1

/// The dashboard: `/`, `/ui/…` and Chart.js at `/javascript/chart.js/chart.min.js`, answered
/// from `DashboardFiles` (memory) with `ETag` and `Cache-Control: no-cache`, so a browser
/// revalidates each file and gets an empty 304 while it is unchanged.
///
/// The files hold no channel data: they are served without a token, and the page asks the
/// user for one when the hub wants it (docs/dashboard.md). The data it then loads goes through
/// the WebSocket and `/api/…`, where access is decided.
extension HTTPRoutes {
    /// What the page may do once loaded: scripts, styles and connections to this hub only, never
    /// framed by another site.
    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    /// Nil when `head` is not for the dashboard.
    func dashboardFile(_ head: HTTPRequestHead) -> HTTPResponse? {
        let raw = WebSocketTarget.path(of: head.uri)
        guard raw == "/" || raw.hasPrefix(DashboardFiles.prefix) || raw == DashboardFiles.chartJSRoute else {
            return nil
        }
        guard head.method == .GET || head.method == .HEAD else { return .methodNotAllowed }
        let path = WebSocketTarget.percentDecode(raw) ?? raw
        guard let file = dashboard?.files[path] else { return Self.dashboardMissing(path) }
        var headers = [
            ("ETag", file.etag), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
        ]
        if file.contentType.hasPrefix("text/html") {
            headers += [
                ("Content-Security-Policy", Self.contentSecurityPolicy), ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "no-referrer"),
            ]
        }
        if Self.matches(head.headers[canonicalForm: "if-none-match"], file.etag) {
            var response = HTTPResponse(.notModified, body: [], headers: headers)
            response.contentType = file.contentType
            return response
        }
        var response = HTTPResponse(.ok, body: file.body, headers: headers)
        response.contentType = file.contentType
        return response
    }

    /// 404 for a file the hub does not have, saying what to do about it.
    static func dashboardMissing(_ path: String) -> HTTPResponse {
        if path == DashboardFiles.chartJSRoute {
            var response = HTTPResponse(
                .notFound,
                body: Array(
                    "Chart.js is not installed on this hub: apt-get install libjs-chart.js, or set server.chart_js in hub.yaml (docs/dashboard.md).\n"
                        .utf8
                )
            )
            response.contentType = "text/plain; charset=utf-8"
            return response
        }
        if path == "/" || path == DashboardFiles.prefix + "index.html" {
            var response = HTTPResponse(
                .notFound,
                body: Array(
                    """
                    <!doctype html><meta charset="utf-8"><title>Plenum</title>
                    <p>The dashboard's files are not installed on this hub. Its log says where it looked
                    (<code>server.dashboard</code> in hub.yaml, by default <code>dashboard/</code> beside hub.yaml);
                    see docs/dashboard.md. The API is unaffected: <a href="/api/channels">/api/channels</a>.</p>

                    """.utf8
                )
            )
            response.contentType = "text/html; charset=utf-8"
            return response
        }
        return HTTPResponse(.notFound, error: "no such file: \(path)")
    }

    /// Whether an `If-None-Match` header names `etag` (or is `*`).
    static func matches(_ values: [Substring], _ etag: String) -> Bool {
        for value in values {
            for candidate in value.split(separator: ",") {
                var tag = candidate.drop { $0 == " " || $0 == "\t" }
                while let last = tag.last, last == " " || last == "\t" { tag = tag.dropLast() }
                if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
                if tag == "*" || tag == etag { return true }
            }
        }
        return false
    }
}
