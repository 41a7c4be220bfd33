import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// "A slow disk delays trends, never clients", against the built `plenum`: while another
/// process holds the trend database's write lock (what a stuck disk looks like to the hub's
/// writer), a 10 Hz counter keeps publishing and a WebSocket client receives every version; the
/// store reports its failing writes where docs/configuration.md says (status channel, `/readyz`,
/// `/metrics`, log), keeps every sample in memory, writes them once the lock is gone, and says
/// `running` again. A crash after that still finds the stalled minutes on disk.
@Suite(.serialized) struct TrendsStallTests {
    /// The counter at 10 Hz with every sample kept raw, and the default resume history (16
    /// versions: 1.6 s of this counter), which is all the writer has to catch up from.
    private func plantDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "plenum-stall-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: PlenumBinary.fixtures + "/plugins/counter.lua",
            toPath: directory + "/plugins/counter.lua"
        )
        let yaml = """
            trends:
              enabled: true
              prefixes:
                /t: {raw: true}
            devices:
              - name: counter
                script: plugins/counter.lua
                prefix: /t
                params: {period_ms: 100}

            """
        try yaml.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        return directory
    }

    private func start(in directory: String) throws -> (RunningProcess, Int) {
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--port", "0"], in: directory)
        guard let port = hub.waitForPort() else {
            hub.kill()
            throw HubDidNotStart(output: hub.text)
        }
        return (hub, port)
    }

    private func json(_ port: Int, _ path: String) -> JSONValue? {
        guard let body = HTTP.get(port: port, path)?.body else { return nil }
        return try? JSONParser.parse(body)
    }

    /// `/readyz`'s `details.trends`.
    private func trends(_ port: Int) -> JSONValue? { json(port, "/readyz")?["details"]?["trends"] }

    private func trendState(_ port: Int) -> String? { trends(port)?["state"]?.stringValue }

    /// The value of `/plenum/trends/status`.
    private func statusChannel(_ port: Int) -> JSONValue? { json(port, "/api/channels/plenum/trends/status")?["value"] }

    /// One unlabelled sample of `/metrics`.
    private func metric(_ port: Int, _ name: String) -> Double? {
        guard let text = HTTP.get(port: port, "/metrics")?.body else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// The counter's latest value (it counts 1, 2, 3, … from the device's start).
    private func count(_ port: Int) -> Int64 { integer(json(port, "/api/channels/t/count")?["value"]) ?? 0 }

    private func integer(_ value: JSONValue?) -> Int64? {
        guard case .integer(let v)? = value else { return nil }
        return v
    }

    /// Polls `condition` (bounded) without holding a thread of the concurrency pool for long.
    private func eventually(timeout: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }

    /// The raw samples of `/t/count` in `[from, to)` (µs), as integers, oldest first.
    private func rawCounts(_ port: Int, from: Int64, to: Int64) -> [Int64]? {
        guard let answer = json(port, "/api/history/t/count?from=\(from)&to=\(to)&step=raw"),
            case .array(let points)? = answer["points"]
        else { return nil }
        return points.compactMap { integer($0["value"]) }
    }

    /// Column `index` of an array of arrays (the client's `[channel, version, value]` rows), as integers.
    private func column(_ rows: JSONValue?, _ index: Int) -> [Int64] {
        guard case .array(let rows)? = rows else { return [] }
        return rows.compactMap { row in
            guard case .array(let fields) = row, fields.count > index else { return nil }
            return integer(fields[index])
        }
    }

    /// Each element is one more than the one before.
    private func consecutive(_ numbers: [Int64]) -> Bool {
        zip(numbers, numbers.dropFirst()).allSatisfy { $1 == $0 + 1 }
    }

    private static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    @Test func aLockedDatabaseDelaysTrendsNeverClients() async throws {
        let directory = try plantDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (hub, port) = try start(in: directory)
        defer { hub.kill() }
        let started = Self.nowMicros()
        #expect(await eventually(timeout: 20) { count(port) >= 3 && trendState(port) == "running" })

        // A client that records every update of the counter, start to end.
        let clientReady = directory + "/client-ready"
        let clientDone = directory + "/client-done"
        let locked = directory + "/locked"
        let release = directory + "/release"
        // Whatever happens below, the two Python processes end promptly.
        defer {
            _ = FileManager.default.createFile(atPath: clientDone, contents: nil)
            _ = FileManager.default.createFile(atPath: release, contents: nil)
        }
        async let seen = offPool {
            try PythonClient.run(
                "every_update",
                port: port,
                ["/t/count", clientReady, clientDone, "240"],
                timeout: 260
            )
        }
        #expect(await waitForFile(clientReady))

        // The previous minute is on disk and the current one has most of its minute ahead (so
        // the minute that fails to be written is the one the lock starts in).
        let placed = await eventually(timeout: 70) {
            let second = (Self.nowMicros() / 1_000_000) % 60
            return second >= 6 && second < 50 && integer(trends(port)?["pending_bytes"]) == 0
        }
        #expect(placed)

        // Another process takes the write lock; the hub's next write (the minute that closes
        // next, at most ~63 s away) cannot commit.
        async let holder = offPool {
            try PythonClient.run(
                "hold_write_lock",
                port: port,
                [directory + "/trends.db", locked, release, "200"],
                timeout: 220
            )
        }
        #expect(await waitForFile(locked))
        let countAtLock = count(port)

        // The documented failing state: a write failed, then its retry failed too.
        let failing = await eventually(timeout: 100) {
            trendState(port) == "failed" && (metric(port, "plenum_trends_write_errors_total") ?? 0) >= 2
        }
        #expect(failing, "\(trends(port) as Any)\n\(hub.text)")
        let details = trends(port)
        #expect(details?["error"]?.stringValue?.contains("database is locked") == true, "\(details as Any)")
        #expect((integer(details?["pending_bytes"]) ?? 0) > 0, "\(details as Any)")
        let ready = HTTP.get(port: port, "/readyz")
        #expect(ready?.status == 200, "\(ready as Any)")
        let status = statusChannel(port)
        #expect(status?["state"] == .string("failed"), "\(status as Any)")
        #expect(status?["error"]?.stringValue?.contains("database is locked") == true, "\(status as Any)")
        #expect(metric(port, "plenum_trends_up") == 0)
        #expect((metric(port, "plenum_trends_pending_bytes") ?? 0) > 0)
        // (Retention's failure with the same error may have been logged first; it is logged once.)
        #expect(hub.text.contains("trend store failed"), "\(hub.text)")
        #expect(hub.text.contains("database is locked"), "\(hub.text)")
        // History is still answered, including the minutes the disk has not taken.
        let duringStall = rawCounts(port, from: started - 60_000_000, to: Self.nowMicros() + 60_000_000) ?? []
        #expect((duringStall.last ?? 0) >= countAtLock, "\(duringStall.suffix(5))")
        // The device kept publishing through the stall.
        let countAtRelease = count(port)
        #expect(countAtRelease > countAtLock + 10, "\(countAtLock) → \(countAtRelease)")

        let releasedAt = Self.nowMicros()
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        let lock = try await holder
        #expect(lock["journal_mode"] == .string("wal"), "\(lock)")
        #expect(lock["released"] == .bool(true), "\(lock)")

        // The next retry (1 s, doubling) writes everything that waited, and the store says so.
        let recovered = await eventually(timeout: 60) {
            guard let now = trends(port) else { return false }
            return now["state"] == .string("running") && integer(now["pending_bytes"]) == 0
                && (integer(now["last_write_ts"]) ?? 0) >= releasedAt
        }
        #expect(recovered, "\(trends(port) as Any)\n\(hub.text)")
        let after = trends(port)
        #expect(after?["error"] == nil, "\(after as Any)")
        #expect(integer(after?["versions_missed"]) == 0, "\(after as Any)")
        #expect(integer(after?["raw_samples_dropped"]) == 0, "\(after as Any)")
        #expect(integer(after?["minutes_dropped"]) == 0, "\(after as Any)")
        let running = statusChannel(port)
        #expect(running?["state"] == .string("running") && running?["error"] == nil, "\(running as Any)")
        #expect(metric(port, "plenum_trends_up") == 1)
        #expect(metric(port, "plenum_trends_versions_missed_total") == 0)
        #expect(hub.text.contains("trend store writes again"), "\(hub.text)")
        // History has every sample from before, during and after the stall (from the file and
        // from the minute in progress).
        let history = rawCounts(port, from: started - 60_000_000, to: Self.nowMicros() + 60_000_000) ?? []
        #expect(consecutive(history), "\(history)")
        #expect((history.first ?? .max) <= countAtLock && (history.last ?? 0) >= countAtRelease, "\(history)")

        // The client got every version, none skipped, before, during and after the stall.
        let countAfter = count(port)
        #expect(await eventually(timeout: 20) { count(port) >= countAfter + 5 })
        _ = FileManager.default.createFile(atPath: clientDone, contents: nil)
        let client = try await seen
        #expect(client["closed"] == .bool(false), "\(client)")
        let versions = column(client["updates"], 1)
        let values = column(client["updates"], 2)
        let snapshot = column(client["snapshot"], 1).first
        #expect(snapshot != nil, "\(client)")
        #expect(
            versions.first == snapshot.map { $0 + 1 } && consecutive(versions),
            "after \(snapshot ?? 0): \(versions)"
        )
        if let first = values.first, let last = values.last {
            #expect(consecutive(values), "\(values)")
            #expect(first <= countAtLock && last > countAtRelease, "\(first)…\(last)")
        } else {
            Issue.record("no updates: \(client)")
        }

        // What the disk holds: kill the hub (the minute in progress is lost, nothing written is)
        // and ask a new one for the samples of the first run. Every value up to the end of the
        // minute the lock started in is there, none missing.
        let killedAt = Self.nowMicros()
        hub.signal(SIGKILL)
        _ = hub.waitForExit()
        let (again, againPort) = try start(in: directory)
        defer { again.kill() }
        let stored = rawCounts(againPort, from: started - 60_000_000, to: killedAt) ?? []
        #expect(!stored.isEmpty && consecutive(stored), "\(stored)")
        #expect((stored.first ?? .max) <= countAtLock, "stored from \(stored.first ?? 0), locked at \(countAtLock)")
        #expect((stored.last ?? 0) > countAtLock, "stored up to \(stored.last ?? 0), locked at \(countAtLock)")
        again.signal(SIGTERM)
        #expect(again.waitForExit() == 0)
    }
}
