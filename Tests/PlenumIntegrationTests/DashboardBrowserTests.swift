import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// The dashboard in a real browser — headless Debian Chromium driven by Playwright
/// (`Tests/Browser/dashboard.py`) — against the built `plenum` binary: what an operator sees.
/// Screenshots go to `.build/dashboard-artifacts/`.
@Suite(
    .serialized,
    .enabled(
        if: DashboardBrowser.chromiumInstalled,
        "chromium is not installed (/usr/bin/chromium): `make test` installs it; or apt-get install chromium"
    )
)
struct DashboardBrowserTests {
    @Test func theShippedPlantIsLiveWithChartsAndResumesAcrossAHubRestart() async throws {
        let seen = try await offPool { try DashboardBrowser.run("plant") }
        // The tree lists the plant: lines, then units.
        let tree = seen["tree"]?.arrayItems?.compactMap(\.stringValue) ?? []
        for name in ["plant", "line1", "ahu-1", "chiller-1", "line2", "ahu-2", "chiller-2"] {
            #expect(tree.contains(name), "tree: \(tree)")
        }
        #expect(
            seen["overview_cards"]
                == .array(
                    ["/plant/line1/ahu-1", "/plant/line1/chiller-1", "/plant/line2/ahu-2", "/plant/line2/chiller-2"]
                        .map { .string($0) }
                )
        )
        // A value changes on screen after the hub publishes it, with its unit.
        let value = seen["value"]
        let before = value?["before"]?["version"]?.intValue ?? 0
        let after = value?["after"]?["version"]?.intValue ?? 0
        #expect(
            after > before && after > (value?["rest_version_before"]?.intValue ?? .max),
            "\(String(describing: value))"
        )
        #expect(value?["before"]?["unit"] == .string("°C") && value?["tree_unit"] == .string("°C"))
        // A setpoint written from the panel: the device applies it and the screen shows it; a
        // value out of range is refused with the hub's reason.
        #expect(seen["write_ok"] == .object(["result": .string("✓ written"), "value": .string("7.5")]))
        #expect(
            seen["write_refused"] == .string("✗ 15 is above the maximum 12 of /plant/line2/chiller-2/setpoint")
        )
        #expect(
            seen["writable_status"]
                == .object([
                    "/plant/line2/chiller-2/setpoint": .object([
                        "type": .string("number"), "min": .double(4), "max": .double(12),
                    ])
                ])
        )
        // A chart with points from the history that grows live.
        let chart = seen["chart"]
        #expect((chart?["first"]?["history"]?.intValue ?? 0) >= 3)
        #expect(chart?["first"]?["step"] == .string("raw"))
        #expect((chart?["grown"]?["points"]?.intValue ?? 0) > (chart?["first"]?["points"]?.intValue ?? .max))
        #expect(seen["chart_day"]?["step"] == .string("1m"))
        // SIGTERM: the page says it is disconnected, then reconnects by itself and resumes.
        #expect(seen["stop_status"] == .integer(0))
        #expect(seen["state_while_down"] == .string("disconnected"))
        #expect(seen["banner"]?.stringValue?.hasPrefix("Disconnected from the hub") == true)
        #expect(seen["recovered"] == .string("true"))
        #expect(seen["resumes"] == .array([.bool(true)]))
        #expect(seen["resume_note"]?.stringValue?.contains("resumed, nothing lost") == true)
        #expect(seen["banner_hidden_after"] == .bool(true))
        #expect(seen["epoch_after"] == seen["epoch_shown"])
        #expect(seen["epoch_shown"] == .string("epoch " + (seen["epoch_rest_after"]?.stringValue ?? "?")))
        // The open chart kept its points and goes on growing; a page opened after the restart
        // charts the minutes before it too.
        let restart = seen["restart_chart"]
        #expect((restart?["after"]?["points"]?.intValue ?? 0) > (restart?["before"]?["points"]?.intValue ?? .max))
        #expect(restart?["after"]?["first"] == restart?["before"]?["first"])
        let fresh = seen["fresh_page"]
        #expect((fresh?["numbers"]?["history"]?.intValue ?? 0) > 0)
        #expect(
            Double(fresh?["numbers"]?["first"]?.intValue ?? .max) < (fresh?["restart_ms"]?.doubleValue ?? 0),
            "\(String(describing: fresh))"
        )
        #expect(seen["errors"] == .array([]))
        #expect(seen["failed_requests"] == .array([]))
        #expect(seen["foreign_requests"] == .array([]), "the page loads everything from the hub")
    }

    @Test func failedDevicesAndAlarmsStandOutAndMissingChartJSIsExplained() async throws {
        let seen = try await offPool { try DashboardBrowser.run("faults") }
        #expect(seen["failed"]?["badge"] == .string("FAILED"))
        #expect(seen["failed"]?["error"] == .string("broken.lua:3: unexpected symbol near '='"))
        #expect(seen["backoff"]?["badge"] == .string("BACKOFF"))
        #expect(
            seen["backoff"]?["error"] == .string("crasher.lua:5: pump controller lost: no answer on /dev/ttyUSB3")
        )
        #expect(seen["status_row_value"] == .string("failed"))
        // The predictor: predicted (amber) first, then alarm (red), everywhere it shows.
        #expect(seen["predicted"]?.stringValue?.hasPrefix("PREDICTED") == true)
        #expect(seen["header_predicted"]?.stringValue?.hasPrefix("1 predicted") == true)
        #expect(seen["alarm"]?.stringValue?.hasPrefix("ALARM") == true)
        #expect(seen["header"] == .string("1 alarm · 2 devices failing"))
        #expect(seen["header_class"]?.stringValue?.contains("level-alarm") == true)
        #expect(seen["tree_badge"] == .string("1 ALARM"))
        #expect(seen["tree_predictor_badge"] == .string("1 ALARM"))
        #expect(seen["tree_alarm_row_class"]?.stringValue?.contains("level-alarm") == true)
        #expect(seen["card_badges"]?.arrayItems?.contains(.string("ALARM")) == true)
        #expect(seen["alarm_row"]?.stringValue?.contains("alarm") == true)
        // No Chart.js on the hub: the page says what to install, and values still flow.
        #expect(seen["chart_missing"]?.stringValue?.contains("apt-get install libjs-chart.js") == true)
        #expect(Double(seen["live_values_still"]?.stringValue ?? "") != nil)
        #expect(seen["failed_requests"] == .array([.string("404 javascript/chart.js/chart.min.js")]))
        #expect(seen["errors"] == .array([]))
    }

    /// A hub with `auth:` (tokens from `plenum token new`, as SecuredHub's tests; trends on): the
    /// token dialog, the hub's refusals, a read-only and a writing token, a revocation by SIGHUP.
    @Test func aSecuredHubAsksForATokenRefusesWritesItForbidsAndRevokes() async throws {
        let seen = try await offPool { try DashboardBrowser.run("secured") }
        // No token: the dialog, and the header says why the page is not live.
        #expect(seen["no_token"]?["reason"] == .string("This hub needs a token."))
        #expect(seen["no_token"]?["header"] == .string("Token needed"))
        // What the operator typed survives the hub's 4001 after 5 s without a token.
        #expect(seen["typed_kept"] == .bool(true))
        // A wrong token: the dialog again with the hub's reason, also in the banner.
        let wrong = seen["wrong_token"]
        #expect(wrong?["reason"] == .string("The hub did not accept the token (unknown token)."))
        #expect(wrong?["banner"]?.stringValue?.hasPrefix("Token needed (unknown token)") == true)
        // A pasted "Bearer <token>" is no subprotocol: said so, not retried in a loop.
        #expect(seen["not_a_token"]?["reason"]?.stringValue?.hasPrefix("That is not a token") == true)
        #expect(seen["not_a_token"]?["state"] == .string("unauthorised"))
        // The read-only token: live values, offered as the subprotocol (the hub selects `plenum`),
        // and the history over REST with it as Bearer.
        #expect(seen["viewer"]?["header"] == .string("Live as viewer"))
        #expect(seen["viewer"]?["protocol"] == .string("plenum"))
        #expect(Double(seen["live_value"]?["value"]?.stringValue ?? "") != nil)
        #expect((seen["chart"]?["history"]?.intValue ?? 0) >= 3)
        #expect(seen["chart"]?["step"] == .string("raw"))
        let bearer = seen["history_bearer"]?.arrayItems ?? []
        #expect(!bearer.isEmpty && bearer.allSatisfy { $0 == .bool(true) }, "\(bearer)")
        // Set with it: the hub's `forbidden`; with the operator's token (write:): applied.
        #expect(seen["write_forbidden"] == .string("✗ 'viewer' may not write /plant/line1/chiller-1/setpoint"))
        #expect(seen["write_ok"] == .string("✓ written"))
        #expect(seen["setpoint_after"] == .string("7.5") && seen["setpoint_rest"] == .double(7.5))
        // The operator's token removed from hub.yaml, SIGHUP: the page says so and asks again;
        // the values stay on screen; the read-only token brings it back.
        #expect(seen["reloaded"] == .bool(true))
        #expect(seen["revoked"]?["reason"] == .string("The hub closed the connection: token revoked."))
        #expect(seen["revoked"]?["header"] == .string("Token needed"))
        #expect(seen["revoked"]?["banner"]?.stringValue?.hasPrefix("Token needed (token revoked)") == true)
        #expect(seen["values_kept"] == .string("7.5"))
        #expect(
            seen["after_revocation"] == .object(["header": .string("Live as viewer"), "banner_hidden": .bool(true)])
        )
        #expect(seen["errors"] == .array([]))
        #expect(seen["failed_requests"] == .array([]))
        #expect(seen["foreign_requests"] == .array([]))
    }

    @Test func tenThousandChannelsStayVirtualisedAndThrottled() async throws {
        let seen = try await offPool { try DashboardBrowser.run("scale") }
        let quiet = seen["quiet"]
        let scrolled = seen["scrolled"]
        #expect((quiet?["channels"]?.intValue ?? 0) >= 10_000)
        #expect((quiet?["updates"]?.intValue ?? 0) > 0)
        // Only the rows in view exist, however many the tree holds.
        #expect((scrolled?["rows"]?.intValue ?? 0) >= 1_000)
        #expect((quiet?["domRows"]?.intValue ?? .max) <= 100)
        #expect((scrolled?["domRows"]?.intValue ?? .max) <= 100)
        // Redrawn on a 250 ms timer, never per message: at most four times a second.
        let seconds = quiet?["seconds"]?.doubleValue ?? 0
        let redraws = quiet?["redraws"]?.intValue ?? .max
        #expect(redraws <= Int(seconds * 4) + 2, "\(redraws) redraws in \(seconds) s")
        #expect((quiet?["treeRenders"]?.intValue ?? .max) <= redraws + 1)
        // The last unit is reachable, its values move, the filter finds one unit among 1,000.
        #expect(seen["unit_value_moved"] == .bool(true))
        let rows = seen["filter_rows"]?.intValue ?? 0
        #expect(rows > 0 && rows < 200)
        #expect(seen["filter_names"]?.arrayItems?.contains(.string("unit77")) == true)
        #expect(seen["errors"] == .array([]))
        // Trends are off in this plant: the chart's history request is the one refused.
        #expect(
            seen["failed_requests"]?.arrayItems?.allSatisfy { $0.stringValue?.hasPrefix("404 api/history/") == true }
                == true
        )
        // For docs/dashboard.md: how the page fared (not asserted: the machine is shared).
        print(
            "dashboard with 10,000 channels: first render \((seen["first_render_s"] ?? .null).jsonString) s; "
                + "quiet \((quiet ?? .null).jsonString); scrolling \((scrolled ?? .null).jsonString)"
        )
    }
}

/// Runs a scenario of `Tests/Browser/dashboard.py` and returns what it printed.
enum DashboardBrowser {
    static let chromiumInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    static let artifacts = PythonClient.repositoryRoot + "/.build/dashboard-artifacts"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ scenario: String, timeout: Double = 240) throws -> JSONValue {
        let script = PythonClient.repositoryRoot + "/Tests/Browser/dashboard.py"
        let binary = URL(fileURLWithPath: PlenumBinary.path).standardizedFileURL.path
        let result = try ChildProcess.run(
            PythonClient.python,
            [script, scenario, "--binary", binary, "--artifacts", artifacts],
            timeout: timeout
        )
        guard result.status == 0, !result.timedOut else {
            throw Failure(
                description:
                    "dashboard.py \(scenario) failed (status \(result.status), timed out: \(result.timedOut)):\n\(result.stderr)"
            )
        }
        do {
            return try JSONParser.parse(result.stdout)
        } catch {
            throw Failure(description: "dashboard.py \(scenario) printed no JSON: \(result.stdout)\n\(result.stderr)")
        }
    }
}

extension JSONValue {
    fileprivate var intValue: Int? {
        if case .integer(let i) = self { return Int(i) }
        return nil
    }

    fileprivate var doubleValue: Double? { numberValue }

    fileprivate var arrayItems: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}
