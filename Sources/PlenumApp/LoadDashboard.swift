import Logging
import PlenumConfig
import PlenumServer

/// Reads the dashboard's files and Chart.js once, at start (docs/dashboard.md), and says in
/// the log what the hub will serve at `/`.
func loadDashboard(_ server: ServerConfig, logger: Logger) -> DashboardFiles {
    let files = DashboardFiles.load(directory: server.dashboardPath, chartJS: server.chartJS)
    let metadata: Logger.Metadata = [
        "dashboard.path": "\(server.dashboardPath)", "dashboard.chart_js": "\(server.chartJS)",
    ]
    if files.hasIndex {
        logger.info("dashboard: \(files.count) files served at /", metadata: metadata)
    } else if server.dashboardConfigured {
        logger.warning("dashboard: no index.html in \(server.dashboardPath); GET / answers 404", metadata: metadata)
    } else {
        logger.info(
            "dashboard: not installed (no \(server.dashboardPath)/index.html; set server.dashboard in hub.yaml); GET / answers 404",
            metadata: metadata
        )
        return files
    }
    for problem in files.problems {
        logger.warning("dashboard: \(problem)", metadata: metadata)
    }
    if !files.hasChartJS {
        logger.warning(
            "dashboard: Chart.js not found at \(server.chartJS); charts are off (apt-get install libjs-chart.js, or set server.chart_js)",
            metadata: metadata
        )
    }
    return files
}
