import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// Trends and restarts as an operator sees them, against the built `plenum` binary: SIGTERM
/// and start keep the epoch (a resuming client recovers), SIGKILL and start take a new one,
/// history survives both, and a bad database file never stops live data.
@Suite(.serialized) struct TrendsCommandTests {
    /// A directory with the counter script and a hub.yaml keeping trends (every sample under /t).
    private func plantDirectory(
        trends: String = "trends:\n  enabled: true\n  prefixes:\n    /t: {raw: true}\n"
    )
        throws -> String
    {
        let directory = NSTemporaryDirectory() + "plenum-trends-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: PlenumBinary.fixtures + "/plugins/counter.lua",
            toPath: directory + "/plugins/counter.lua"
        )
        // A period above the resume scenario's 0.5 s quiet time, so its replay read ends.
        let yaml = """
            channels:
              history: 1000
            \(trends)devices:
              - name: counter
                script: plugins/counter.lua
                prefix: /t
                params: {period_ms: 700}

            """
        try yaml.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        return directory
    }

    private func start(in directory: String, asNobody: Bool = false) throws -> (RunningProcess, Int) {
        let arguments = ["run", "--port", "0"]
        let hub =
            asNobody
            ? try RunningProcess(
                "/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", PlenumBinary.path] + arguments,
                in: directory
            )
            : try RunningProcess(PlenumBinary.path, arguments, in: directory)
        guard let port = hub.waitForPort() else {
            hub.kill()
            throw HubDidNotStart(output: hub.text)
        }
        return (hub, port)
    }

    private func get(_ port: Int, _ path: String) throws -> JSONValue {
        try PythonClient.run("get", port: port, [path])
    }

    private func epoch(_ port: Int) throws -> String? { try get(port, "/api/channels")["body"]?["epoch"]?.stringValue }

    private func countVersion(_ port: Int) throws -> Int64 {
        guard case .integer(let v)? = try get(port, "/api/channels/t/count")["body"]?["version"] else { return 0 }
        return v
    }

    /// Waits (bounded) until /t/count reaches `version`.
    private func waitForCount(_ port: Int, atLeast version: Int64) throws -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try countVersion(port) >= version { return true }
            usleep(100_000)
        }
        return false
    }

    /// The resume scenario across a restart done by `restart`: positions from the first hub,
    /// then the client reconnects to the hub `restart` returns.
    private func resumeAcross(
        _ port: Int,
        restart: @escaping @Sendable () async throws -> (RunningProcess, Int)
    ) async throws -> (JSONValue, RunningProcess, Int) {
        let marker = NSTemporaryDirectory() + "plenum-resume-\(UUID().uuidString)"
        let portFile = marker + "-port"
        defer {
            try? FileManager.default.removeItem(atPath: marker)
            try? FileManager.default.removeItem(atPath: portFile)
        }
        async let seen = offPool { try PythonClient.run("resume", port: port, ["/t/**", marker, portFile]) }
        #expect(await waitForFile(marker))
        let (hub, next) = try await restart()
        try String(next).write(toFile: portFile, atomically: true, encoding: .utf8)
        return (try await seen, hub, next)
    }

    @Test func aCleanStopKeepsTheEpochAndAResumingClientRecovers() async throws {
        let directory = try plantDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, port) = try start(in: directory)
        defer { first.kill() }
        #expect(try waitForCount(port, atLeast: 2))
        let epoch = try #require(try epoch(port))

        let (seen, second, secondPort) = try await resumeAcross(port) {
            // Versions published after the client left, then SIGTERM and a start.
            _ = try self.waitForCount(port, atLeast: try self.countVersion(port) + 2)
            first.signal(SIGTERM)
            #expect(first.waitForExit() == 0)
            return try self.start(in: directory)
        }
        defer { second.kill() }
        #expect(first.text.contains("trend store saved"))
        #expect(second.text.contains("continuing epoch \(epoch)"))
        #expect(try self.epoch(secondPort) == epoch)
        #expect(seen["ack"]?["recovered"] == .bool(true), "\(seen)")
        #expect(seen["snapshot"] == .null)
        // Exactly the versions after the client's position, in order, across the restart.
        guard case .integer(let position)? = seen["positions"]?["/t/count"],
            case .array(let updates)? = seen["updates"]
        else {
            Issue.record("no position or updates: \(seen)")
            return
        }
        let versions = updates.compactMap { update -> Int64? in
            guard case .array(let pair) = update, pair.count == 2, case .integer(let v) = pair[1] else { return nil }
            return v
        }
        #expect(versions.count >= 2)
        #expect(versions == Array((position + 1)...(position + Int64(versions.count))))

        // The history still shows every sample since the first start, before and after the restart.
        let history = try PlenumBinary.run(
            [
                "history", "/t/count", "--since", "10m", "--step", "raw", "--format", "csv", "--url",
                "http://127.0.0.1:\(secondPort)",
            ]
        )
        #expect(history.status == 0, "\(history.stderr)")
        let rows = history.stdout.split(separator: "\n").dropFirst()
        #expect(Int64(rows.count) >= position + 2, "\(history.stdout)")
        let table = try PlenumBinary.run(["history", "/t/count", "--url", "http://127.0.0.1:\(secondPort)"])
        #expect(table.status == 0 && table.stdout.hasPrefix("# /t/count  step raw"), "\(table.stdout)\(table.stderr)")

        // SIGKILL: the next start must not reuse the epoch; the resuming client gets a snapshot.
        let (afterCrash, third, thirdPort) = try await resumeAcross(secondPort) {
            second.signal(SIGKILL)
            _ = second.waitForExit()
            return try self.start(in: directory)
        }
        defer { third.kill() }
        #expect(third.text.contains("no clean stop recorded"))
        let newEpoch = try #require(try self.epoch(thirdPort))
        #expect(newEpoch != epoch)
        #expect(afterCrash["ack"]?["recovered"] == .bool(false), "\(afterCrash)")
        #expect(afterCrash["snapshot"] != .null)
        // The minutes written before the crash are still there (aggregates of the closed minutes
        // and the raw rows: at least what the first run wrote at its clean stop).
        let minutes = try PythonClient.run("get", port: thirdPort, ["/api/history/t/count?from=-10m&step=1m"])
        guard case .array(let buckets)? = minutes["body"]?["points"] else {
            Issue.record("no buckets: \(minutes)")
            return
        }
        let stored = buckets.reduce(Int64(0)) { sum, bucket in
            guard case .integer(let n)? = bucket["count"] else { return sum }
            return sum + n
        }
        #expect(stored >= position + 2)
        third.signal(SIGTERM)
        #expect(third.waitForExit() == 0)
    }

    @Test func aCorruptDatabaseFileIsReportedAndLiveDataFlows() async throws {
        let directory = try plantDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let garbage = Data((0..<16_384).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: directory + "/trends.db"))
        let (hub, port) = try start(in: directory)
        defer { hub.kill() }
        #expect(try waitForCount(port, atLeast: 2))
        try expectFailedTrendStore(port, hub: hub, error: "file is not a database")
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
        // The file is left as it was for the operator to inspect.
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/trends.db")) == garbage)
    }

    @Test func aReadOnlyDirectoryIsReportedAndLiveDataFlows() async throws {
        let directory = try plantDirectory()
        defer {
            chmod(directory, 0o755)
            try? FileManager.default.removeItem(atPath: directory)
        }
        // Root writes anywhere, so as root the hub runs as nobody (the directory is root's).
        chmod(directory, 0o555)
        let (hub, port) = try start(in: directory, asNobody: getuid() == 0)
        defer { hub.kill() }
        #expect(try waitForCount(port, atLeast: 2))
        try expectFailedTrendStore(port, hub: hub, error: "unable to open database file")
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/trends.db"))
    }

    private func expectFailedTrendStore(_ port: Int, hub: RunningProcess, error: String) throws {
        let ready = try get(port, "/readyz")
        #expect(ready["status"] == .integer(200))
        #expect(ready["body"]?["status"] == .string("ready"))
        #expect(ready["body"]?["details"]?["trends"]?["state"] == .string("failed"))
        #expect(ready["body"]?["details"]?["trends"]?["error"]?.stringValue?.contains(error) == true, "\(ready)")
        let status = try get(port, "/api/channels/plenum/trends/status")["body"]?["value"]
        #expect(status?["state"] == .string("failed"))
        #expect(status?["error"]?.stringValue?.contains(error) == true)
        let metrics = try PythonClient.run("get_raw", port: port, ["/metrics"])["text"]?.stringValue ?? ""
        #expect(metrics.contains("plenum_trends_up 0"), "\(metrics)")
        let history = try get(port, "/api/history/t/count")
        #expect(history["status"] == .integer(503))
        #expect(history["body"]?["code"] == .string("trends_unavailable"))
        #expect(hub.text.contains("trend store cannot open its database") && hub.text.contains(error), "\(hub.text)")
        // A fresh epoch, since nothing could be continued.
        #expect(hub.text.contains("hub started"))
    }

    @Test func historyAnswersCSVAndClearErrors() async throws {
        let directory = try plantDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (hub, port) = try start(in: directory)
        defer { hub.kill() }
        #expect(try waitForCount(port, atLeast: 3))
        let csv = try PythonClient.run("get_raw", port: port, ["/api/history/t/count?from=-5m&step=1m", "text/csv"])
        #expect(csv["status"] == .integer(200))
        #expect(csv["content_type"] == .string("text/csv; charset=utf-8"))
        #expect(csv["text"]?.stringValue?.hasPrefix("time,ts,count,min,max,mean,last\n") == true)
        let raw = try get(port, "/api/history/t/count?from=-5m")
        #expect(raw["body"]?["step"] == .string("raw"))
        let cases: [(String, Int64, String)] = [
            ("/api/history/t/count?step=7s", 400, "bad_request"),
            ("/api/history/t/count?from=-400d&step=1m", 400, "too_many_points"),
            ("/api/history/t/nothing", 404, "unknown_channel"),
            ("/api/history/t//count", 400, "bad_request"),
        ]
        for (path, status, code) in cases {
            let answer = try get(port, path)
            #expect(answer["status"] == .integer(status), "\(path): \(answer)")
            #expect(answer["body"]?["code"] == .string(code), "\(path): \(answer)")
        }
        let refused = try PlenumBinary.run(["history", "/t/nothing", "--url", "http://127.0.0.1:\(port)"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("the hub answered 404: no history for /t/nothing"))
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
        let unreachable = try PlenumBinary.run(["history", "/t/count", "--url", "http://127.0.0.1:\(port)"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot connect"))
    }

    @Test func withTrendsOffEveryStartIsANewEpochAndHistoryIsDisabled() async throws {
        let directory = try plantDirectory(trends: "")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (hub, port) = try start(in: directory)
        defer { hub.kill() }
        let answer = try get(port, "/api/history/t/count")
        #expect(answer["status"] == .integer(404))
        #expect(answer["body"]?["code"] == .string("trends_disabled"))
        #expect(try get(port, "/readyz")["body"] == .object(["status": .string("ready")]))
        let epoch = try self.epoch(port)
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
        let (again, secondPort) = try start(in: directory)
        defer { again.kill() }
        #expect(try self.epoch(secondPort) != epoch)
        #expect(!FileManager.default.fileExists(atPath: directory + "/trends.db"))
        again.signal(SIGTERM)
        #expect(again.waitForExit() == 0)
    }
}

struct HubDidNotStart: Error, CustomStringConvertible {
    var output: String
    var description: String { "the hub did not start:\n\(output)" }
}
