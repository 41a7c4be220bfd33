import Foundation
import PlenumTestSupport
import Testing

@testable import PlenumServer

/// The dashboard's static files as a browser gets them from the hub: content types, entity
/// tags and 304s, nothing outside the dashboard directory whatever the URL, bounded reads, and
/// no filesystem access per request.
@Suite struct DashboardFilesTests {
    /// A dashboard directory with a secret beside it (what traversal would reach for).
    final class Site {
        let root: String
        var dashboard: String { root + "/dashboard" }

        init() throws {
            root = NSTemporaryDirectory() + "plenum-dashboard-\(UUID().uuidString)"
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/dashboard/lib", withIntermediateDirectories: true)
            try write("secret.txt", "SECRET-CONTENT")
            try write("dashboard/index.html", "<!doctype html><title>plant</title>")
            try write("dashboard/app.js", "console.log('plant');")
            try write("dashboard/style.css", "body{}")
            try write("dashboard/lib/tree.js", "export const tree = 1;")
            try write("dashboard/.hidden", "HIDDEN-CONTENT")
            try write("dashboard/chart.min.js", "/*! Chart.js v3.9.1 */ window.Chart = {};")
            try fm.createSymbolicLink(atPath: root + "/dashboard/secret.txt", withDestinationPath: root + "/secret.txt")
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: root + "/" + name, atomically: false, encoding: .utf8)
        }

        func load(_ limits: DashboardFiles.Limits = .init()) -> DashboardFiles {
            DashboardFiles.load(directory: dashboard, chartJS: dashboard + "/chart.min.js", limits: limits)
        }
    }

    /// Runs `body` against a server serving `files`, stopped afterwards whatever happens.
    private func serving(_ files: DashboardFiles, _ body: (ServerHarness) async throws -> Void) async throws {
        let harness = try await ServerHarness.start(dashboard: files)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test func servesEachFileWithItsTypeAnEntityTagAndNoCache() async throws {
        let site = try Site()
        try await serving(site.load()) { harness in
            let index = try await RawHTTP.get(harness.port, "/")
            #expect(index.status == 200)
            #expect(index.text == "<!doctype html><title>plant</title>")
            #expect(index.headers["content-type"] == "text/html; charset=utf-8")
            #expect(index.headers["cache-control"] == "no-cache")
            #expect(index.headers["x-content-type-options"] == "nosniff")
            #expect(index.headers["content-security-policy"]?.contains("default-src 'self'") == true)
            #expect(index.headers["x-frame-options"] == "DENY")
            let etag = try #require(index.headers["etag"])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count == 18)
            #expect(try await RawHTTP.get(harness.port, "/ui/index.html").text == index.text)

            let script = try await RawHTTP.get(harness.port, "/ui/app.js?v=2")
            #expect(script.status == 200)
            #expect(script.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(script.headers["content-security-policy"] == nil)
            #expect(
                try await RawHTTP.get(harness.port, "/ui/style.css").headers["content-type"]
                    == "text/css; charset=utf-8"
            )
            #expect(try await RawHTTP.get(harness.port, "/ui/lib/tree.js").text == "export const tree = 1;")
            let chart = try await RawHTTP.get(harness.port, "/javascript/chart.js/chart.min.js")
            #expect(chart.status == 200)
            #expect(chart.text.hasPrefix("/*! Chart.js v3.9.1"))
            #expect(chart.headers["etag"] != etag)
        }
    }

    @Test func anUnchangedFileIsAnswered304WithoutABody() async throws {
        let site = try Site()
        try await serving(site.load()) { harness in
            let first = try await RawHTTP.get(harness.port, "/ui/app.js")
            let etag = try #require(first.headers["etag"])
            let again = try await RawHTTP.get(
                harness.port,
                "/ui/app.js",
                headers: ["If-None-Match": "\"0000000000000000\", \(etag)"]
            )
            #expect(again.status == 304)
            #expect(again.body.isEmpty)
            #expect(again.headers["etag"] == etag)
            #expect(again.headers["content-length"] == nil)
            let changed = try await RawHTTP.get(
                harness.port,
                "/ui/app.js",
                headers: ["If-None-Match": "\"0000000000000000\""]
            )
            #expect(changed.status == 200)
            #expect(changed.text == "console.log('plant');")
            // HEAD: the headers of a GET, no body.
            let head = try await RawHTTP.request(
                harness.port,
                "HEAD /ui/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            #expect(head.status == 200)
            #expect(head.headers["content-length"] == "21")
            #expect(head.body.isEmpty)
            let post = try await RawHTTP.request(
                harness.port,
                "POST /ui/app.js HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            #expect(post.status == 405)
        }
    }

    @Test func noURLReachesOutsideTheDashboardDirectory() async throws {
        let site = try Site()
        try await serving(site.load()) { harness in
            let attempts = [
                "/ui/../secret.txt", "/ui/%2e%2e/secret.txt", "/ui/%2E%2E%2Fsecret.txt", "/ui/lib/../../secret.txt",
                "/ui/..%2f..%2fsecret.txt", "/ui//etc/passwd", "/ui/%2Fetc%2Fpasswd", "/ui/secret.txt", "/ui/.hidden",
                "/ui/lib", "/ui/lib/", "/ui/", "/ui/app.js%00.css", "/ui/app.js/", "/..%2fsecret.txt",
                "/ui/\\..\\secret.txt",
                "/javascript/chart.js/../../secret.txt", "/javascript/chart.js/", "/ui/%",
            ]
            for path in attempts {
                let answer = try await RawHTTP.request(
                    harness.port,
                    "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                #expect(answer.status == 404 || answer.status == 400, "\(path): \(answer.status)")
                #expect(!answer.text.contains("SECRET-CONTENT"), "\(path) served \(answer.text)")
                #expect(!answer.text.contains("HIDDEN-CONTENT"), "\(path) served \(answer.text)")
            }
        }
    }

    @Test func filesAreReadOnceAtStartNotPerRequest() async throws {
        let site = try Site()
        try await serving(site.load()) { harness in
            #expect(try await RawHTTP.get(harness.port, "/ui/app.js").text == "console.log('plant');")
            try site.write("dashboard/app.js", "console.log('changed');")
            try FileManager.default.removeItem(atPath: site.dashboard + "/style.css")
            try site.write("dashboard/new.js", "new")
            // What is served is what was there when the hub started.
            #expect(try await RawHTTP.get(harness.port, "/ui/app.js").text == "console.log('plant');")
            #expect(try await RawHTTP.get(harness.port, "/ui/style.css").status == 200)
            #expect(try await RawHTTP.get(harness.port, "/ui/new.js").status == 404)
        }
    }

    @Test func whatIsLeftOutIsReported() throws {
        let site = try Site()
        try site.write("dashboard/big.js", String(repeating: "x", count: 5_000))
        try site.write("dashboard/has space.js", "x")
        let files = site.load(DashboardFiles.Limits(fileBytes: 4_096, totalBytes: 1 << 20, files: 512, depth: 8))
        #expect(files.files["/ui/big.js"] == nil)
        #expect(files.files["/ui/app.js"] != nil)
        #expect(files.files["/ui/has space.js"] == nil)
        #expect(files.problems.contains { $0.contains("big.js: left out, larger than 4096 bytes") })
        #expect(files.problems.contains { $0.contains("has space.js: left out, the name is not a plain file name") })
        #expect(files.problems.contains { $0.contains("secret.txt: left out, not a regular file or directory") })
        #expect(!files.problems.contains { $0.contains(".hidden") })
        #expect(files.hasIndex && files.hasChartJS)

        let few = site.load(DashboardFiles.Limits(files: 2))
        #expect(few.count == 2)
        #expect(few.problems.contains { $0.contains("more than 2 files") })
        let shallow = site.load(DashboardFiles.Limits(depth: 0))
        #expect(shallow.files["/ui/lib/tree.js"] == nil)
        #expect(shallow.problems.contains { $0.contains("lib: left out, deeper than 0 levels") })
        let small = site.load(DashboardFiles.Limits(totalBytes: 40))
        #expect(small.problems.contains { $0.contains("would exceed 40 bytes") })
    }

    @Test func withoutFilesTheRoutesSayWhatIsMissing() async throws {
        let missing = DashboardFiles.load(directory: "/nonexistent/dashboard", chartJS: "/nonexistent/chart.min.js")
        #expect(!missing.hasIndex && !missing.hasChartJS)
        #expect(missing.problems.count == 2)
        try await serving(missing) { harness in
            let index = try await RawHTTP.get(harness.port, "/")
            #expect(index.status == 404)
            #expect(index.headers["content-type"] == "text/html; charset=utf-8")
            #expect(index.text.contains("server.dashboard"))
            let chart = try await RawHTTP.get(harness.port, "/javascript/chart.js/chart.min.js")
            #expect(chart.status == 404)
            #expect(chart.text.contains("apt-get install libjs-chart.js"))
            // The API is untouched.
            #expect(try await RawHTTP.get(harness.port, "/healthz").status == 200)
        }
    }

    @Test func contentTypesByExtension() {
        #expect(DashboardFiles.contentType(of: "a.mjs") == "text/javascript; charset=utf-8")
        #expect(DashboardFiles.contentType(of: "a.SVG") == "image/svg+xml")
        #expect(DashboardFiles.contentType(of: "a.png") == "image/png")
        #expect(DashboardFiles.contentType(of: "a.json") == "application/json")
        #expect(DashboardFiles.contentType(of: "README") == "application/octet-stream")
        #expect(HTTPRoutes.matches(["W/\"abc\""], "\"abc\""))
        #expect(HTTPRoutes.matches(["*"], "\"abc\""))
        #expect(!HTTPRoutes.matches(["\"abd\""], "\"abc\""))
    }
}

/// HTTP/1.1 over a plain socket, answers read to the end: status, headers (lower-cased names)
/// and body bytes.
enum RawHTTP {
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error {}

    static func get(_ port: Int, _ path: String, headers: [String: String] = [:]) async throws -> Answer {
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        return try await request(port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n")
    }

    static func request(_ port: Int, _ text: String) async throws -> Answer {
        try await offPool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure() }
            defer { close(fd) }
            var limit = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { throw Failure() }
            let bytes = Array(text.utf8)
            guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
                throw Failure()
            }
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                response += buffer[0..<n]
            }
            guard let end = response.firstRange(of: Array("\r\n\r\n".utf8)) else { throw Failure() }
            let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            guard let status = head.first.flatMap({ Int($0.split(separator: " ").dropFirst().first ?? "") }) else {
                throw Failure()
            }
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces
                )
            }
            return Answer(status: status, headers: headers, body: Array(response[end.upperBound...]))
        }
    }
}
