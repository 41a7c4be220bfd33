import FoundationEssentials

/// `server.dashboard` and `server.chart_js` — where the dashboard's files and Chart.js are
/// (docs/dashboard.md, "Where the files live").
extension ConfigDecoder {
    mutating func decodeDashboard(_ map: [String: YAMLNode], into server: inout ServerConfig) {
        if let n = map["dashboard"], let v = string(n, "server.dashboard") {
            if v.isEmpty {
                report(
                    .outOfRange,
                    n,
                    "server.dashboard",
                    "expected a directory such as dashboard or /opt/plenum/dashboard"
                )
            } else {
                // Named explicitly, it must be there: a typo would otherwise serve no dashboard at all.
                let resolved = resolvePath(v)
                var isDirectory = false
                if FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory {
                    server.dashboard = v
                    server.dashboardConfigured = true
                } else {
                    report(
                        .missingFile,
                        n,
                        "server.dashboard",
                        "directory '\(v)' not found (looked for \(resolved); relative paths start at the directory of \(file))"
                    )
                }
            }
        }
        if let n = map["chart_js"], let v = string(n, "server.chart_js") {
            // Not checked here: the hub starts without it and the dashboard says what is missing.
            if v.isEmpty || v.hasSuffix("/") {
                report(.outOfRange, n, "server.chart_js", "expected a file such as \(ServerConfig.debianChartJS)")
            } else {
                server.chartJS = resolvePath(v)
            }
        }
    }

    /// `path` resolved against the directory holding hub.yaml (absolute paths as they are).
    func resolvePath(_ path: String) -> String { path.hasPrefix("/") ? path : baseDirectory + "/" + path }
}
