import Testing

@testable import PlenumConfig

/// `server.dashboard` and `server.chart_js`: where the dashboard's files and Chart.js are.
@Suite struct DashboardConfigTests {
    private func load(_ yaml: String, base: String = "/etc/plenum") throws -> ServerConfig {
        try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: base).server
    }

    @Test func byDefaultTheDashboardIsBesideHubYamlAndChartJSIsDebians() throws {
        let server = try load("devices: []\n")
        #expect(server.dashboard == "dashboard" && server.dashboardPath == "/etc/plenum/dashboard")
        #expect(!server.dashboardConfigured)
        #expect(server.chartJS == "/usr/share/javascript/chart.js/chart.min.js")
        // Without a server: section as well.
        #expect(try load("server:\n  port: 9000\n").dashboardPath == "/etc/plenum/dashboard")
    }

    @Test func aNamedDirectoryMustExistAndPathsStartAtHubYaml() throws {
        let server = try load("server:\n  dashboard: plugins\n  chart_js: vendor/chart.min.js\n", base: fixtures)
        #expect(server.dashboardPath == fixtures + "/plugins" && server.dashboardConfigured)
        #expect(server.chartJS == fixtures + "/vendor/chart.min.js")
        #expect(try load("server:\n  dashboard: \(fixtures)\n").dashboardPath == fixtures)
        #expect(
            problems("server:\n  dashboard: no-such-dir\n  chart_js: ''\n") == [
                "hub.yaml:2:14: server.dashboard: directory 'no-such-dir' not found (looked for \(fixtures)/no-such-dir; relative paths start at the directory of hub.yaml)",
                "hub.yaml:3:13: server.chart_js: expected a file such as /usr/share/javascript/chart.js/chart.min.js",
            ]
        )
        #expect(
            problems("server:\n  dashboard: full.yaml\n").first?.contains("directory 'full.yaml' not found") == true
        )
    }
}
