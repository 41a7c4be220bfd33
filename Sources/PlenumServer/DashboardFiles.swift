import PlenumCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dashboard's static files, read once when the hub starts and served from memory: a
/// request never touches the filesystem (`HTTPRoutes+Dashboard.swift` serves them).
///
/// What is served is exactly what was found: the regular files under the dashboard directory
/// whose path segments are plain names (letters, digits, `.`, `_`, `-`, not starting with a
/// dot), each at `/ui/<relative path>`, its `index.html` also at `/`; and Chart.js from its own
/// file (Debian's `libjs-chart.js`) at `chartJSRoute`. A request is a lookup in that table, so
/// no URL can name anything else (`..`, encoded or not, symbolic links, hidden files).
/// Everything read is bounded by `Limits`; what does not fit is left out and reported.
public final class DashboardFiles: Sendable {
    /// One file as served: its bytes, `Content-Type` and entity tag.
    struct File: Sendable {
        let body: [UInt8]
        let contentType: String
        /// A strong validator: a hash of the bytes, quoted (`"9c1e…"`).
        let etag: String
    }

    /// How much is read, at most.
    public struct Limits: Sendable {
        /// Largest file served; larger ones are left out. Default 4 MiB (Chart.js is 200 KiB).
        public var fileBytes: Int
        /// All files together. Default 32 MiB.
        public var totalBytes: Int
        /// Files. Default 512.
        public var files: Int
        /// Directory levels below the dashboard directory. Default 8.
        public var depth: Int

        public init(fileBytes: Int = 4 << 20, totalBytes: Int = 32 << 20, files: Int = 512, depth: Int = 8) {
            self.fileBytes = fileBytes
            self.totalBytes = totalBytes
            self.files = files
            self.depth = depth
        }
    }

    /// Where the dashboard's files are served from.
    static let prefix = "/ui/"
    /// Where Chart.js is served, as Debian web applications find it under `/javascript`.
    public static let chartJSRoute = "/javascript/chart.js/chart.min.js"

    /// URL path → file.
    let files: [String: File]
    /// The directory read (nil: none configured).
    public let directory: String?
    /// Whether Chart.js was read.
    public var hasChartJS: Bool { files[Self.chartJSRoute] != nil }
    /// Whether the dashboard directory held an `index.html`.
    public var hasIndex: Bool { files["/"] != nil }
    /// Files served from the dashboard directory (Chart.js not counted).
    public var count: Int { files.count - (hasIndex ? 1 : 0) - (hasChartJS ? 1 : 0) }
    /// What was left out or could not be read, one sentence each, for the log.
    public let problems: [String]

    init(files: [String: File], directory: String?, problems: [String]) {
        self.files = files
        self.directory = directory
        self.problems = problems
    }

    /// Reads `directory` (the dashboard) and `chartJS` (the Chart.js file); either may be nil or
    /// missing, which leaves its routes answering 404.
    public static func load(directory: String?, chartJS: String?, limits: Limits = Limits()) -> DashboardFiles {
        var reader = Reader(limits: limits)
        if let directory {
            reader.walk(directory, relative: "", depth: 0)
            if let index = reader.files[prefix + "index.html"] { reader.files["/"] = index }
        }
        if let chartJS {
            switch reader.read(chartJS) {
            case .success(let bytes): reader.add(chartJSRoute, bytes, name: chartJS)
            case .failure(let problem): reader.problems.append("Chart.js: \(problem.description)")
            }
        }
        return DashboardFiles(files: reader.files, directory: directory, problems: reader.problems)
    }

    /// The `Content-Type` for a file name, by its extension.
    static func contentType(of name: String) -> String {
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "woff2": return "font/woff2"
        case "txt", "md": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// Whether a directory entry may be served: a plain name, not hidden.
    static func isServable(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "."), name.utf8.count <= 255 else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F
                || c == 0x2D
        }
    }

    /// FNV-1a, 64 bits, as 16 hex digits in quotes: enough to tell versions of a file apart.
    static func entityTag(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// The walk over the directory, with the running totals the limits apply to.
    private struct Reader {
        let limits: Limits
        var files: [String: File] = [:]
        var problems: [String] = []
        var total = 0

        init(limits: Limits) { self.limits = limits }

        mutating func add(_ route: String, _ bytes: [UInt8], name: String) {
            guard total + bytes.count <= limits.totalBytes else {
                problems.append("\(name): left out, the files together would exceed \(limits.totalBytes) bytes")
                return
            }
            total += bytes.count
            files[route] = File(body: bytes, contentType: contentType(of: name), etag: entityTag(bytes))
        }

        mutating func walk(_ directory: String, relative: String, depth: Int) {
            guard let handle = opendir(directory) else {
                problems.append("\(SystemError("opendir \(directory)"))")
                return
            }
            defer { closedir(handle) }
            var names: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            for name in names.sorted() {
                let path = directory + "/" + name
                guard DashboardFiles.isServable(name) else {
                    if !name.hasPrefix(".") { problems.append("\(path): left out, the name is not a plain file name") }
                    continue
                }
                var info = stat()
                guard lstat(path, &info) == 0 else {
                    problems.append("\(SystemError("lstat \(path)"))")
                    continue
                }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    guard depth < limits.depth else {
                        problems.append("\(path): left out, deeper than \(limits.depth) levels")
                        continue
                    }
                    walk(path, relative: relative + name + "/", depth: depth + 1)
                case S_IFREG:
                    guard files.count < limits.files else {
                        problems.append("\(path): left out, more than \(limits.files) files")
                        continue
                    }
                    switch read(path) {
                    case .success(let bytes): add(prefix + relative + name, bytes, name: path)
                    case .failure(let problem): problems.append(problem.description)
                    }
                default:
                    problems.append("\(path): left out, not a regular file or directory (links are not followed)")
                }
            }
        }

        /// The whole of a regular file of at most `limits.fileBytes`.
        func read(_ path: String) -> Result<[UInt8], ReadProblem> {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return .failure(ReadProblem("\(SystemError("open \(path)"))")) }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { return .failure(ReadProblem("\(SystemError("fstat \(path)"))")) }
            guard info.st_mode & S_IFMT == S_IFREG else { return .failure(ReadProblem("\(path): not a regular file")) }
            guard info.st_size <= limits.fileBytes else {
                return .failure(ReadProblem("\(path): left out, larger than \(limits.fileBytes) bytes"))
            }
            // One byte more than its size tells a file that grew while being read.
            let size = Int(info.st_size)
            var bytes = [UInt8](repeating: 0, count: size + 1)
            var count = 0
            while count < bytes.count {
                let n = bytes.withUnsafeMutableBytes { buffer in
                    DashboardFiles.systemRead(fd, buffer.baseAddress! + count, buffer.count - count)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(ReadProblem("\(SystemError("read \(path)"))"))
                }
                if n == 0 { break }
                count += n
            }
            guard count <= size else { return .failure(ReadProblem("\(path): changed while being read")) }
            bytes.removeSubrange(count...)
            return .success(bytes)
        }
    }

    /// `read(2)`, named apart from `Reader.read(_:)`.
    private static let systemRead: @Sendable (Int32, UnsafeMutableRawPointer?, Int) -> Int = { read($0, $1, $2) }

    /// Why a file was not read, as the log says it.
    struct ReadProblem: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
