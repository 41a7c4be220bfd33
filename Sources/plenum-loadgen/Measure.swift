import ArgumentParser
import Foundation

/// `plenum-loadgen [measure]`: opens N WebSocket connections to a hub, subscribes each to a
/// pattern, and reports delivered messages, publish→receive latency (from each update's `ts`),
/// version gaps and its own CPU time, as JSON on stdout.
struct Measure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure delivery to N steady WebSocket clients (the benchmarks; the default)."
    )

    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option(help: "How many connections to open.") var connections = 1
    @Option(help: "Subscription patterns, comma separated; connection i gets pattern i mod count.")
    var patterns = "/**"
    @Option(help: "Seconds to measure after all connections are up.") var duration = 10.0
    @Option(help: "Seconds to wait after connecting before measuring.") var warmup = 1.0
    @Option(help: "Receiving threads (each reads its share of the connections with epoll).") var loops = 2
    @Option(help: "The hub's pid: its CPU time and RSS are read from /proc over the same window.")
    var serverPid: Int32?
    @Option(help: "Send this token as Authorization: Bearer on every upgrade.")
    var token: String?

    func run() async throws {
        let start = Date().timeIntervalSince1970
        let receivers = (0..<max(1, loops)).map { _ in ReceiverThread(start: start) }
        let patternList = patterns.split(separator: ",").map(String.init)
        let connectStart = Date()
        var failures = 0
        var firstFailure: String?
        for i in 0..<connections {
            do {
                let path = "/ws" + patternList[i % patternList.count]
                receivers[i % receivers.count].add(try RawConnection(host: host, port: port, path: path, token: token))
            } catch {
                failures += 1
                firstFailure = firstFailure ?? error.description
            }
        }
        // Wait until every connection has upgraded or ended (bounded).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if receivers.map(\.settled).reduce(failures, +) >= connections { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let connectSeconds = Date().timeIntervalSince(connectStart)
        try await Task.sleep(for: .seconds(warmup))
        // Only the measurement window counts towards the latency figures.
        for receiver in receivers { receiver.withStats { $0.histogram = LatencyHistogram() } }
        let before = totals(receivers)
        let cpuBefore = Self.cpuSeconds()
        let serverBefore = serverPid.flatMap(Self.processCPUSeconds)
        let measureStart = Date()
        try await Task.sleep(for: .seconds(duration))
        let elapsed = Date().timeIntervalSince(measureStart)
        let cpuUsed = Self.cpuSeconds() - cpuBefore
        let serverAfter = serverPid.flatMap(Self.processCPUSeconds)
        let serverRSS = serverPid.flatMap(Self.residentKiB)
        let after = totals(receivers)

        let messages = after.messages - before.messages
        let histogram = after.histogram
        var report: [String: Any] = [
            "connections": connections,
            "connected": after.connected,
            "connect_failures": failures,
            "connect_seconds": connectSeconds,
            "measure_seconds": elapsed,
            "messages": messages,
            "msgs_per_s": Double(messages) / elapsed,
            "bytes": after.bytes - before.bytes,
            "versions_skipped": after.skipped - before.skipped,
            "latency_us": [
                "p50": histogram.percentile(0.5), "p99": histogram.percentile(0.99),
                "p999": histogram.percentile(0.999), "max": Double(histogram.max),
            ],
            "timeline": after.timeline.enumerated().filter { $0.element.count > 0 }.map { second, h in
                [
                    "second": second, "messages": h.count, "p50_us": h.percentile(0.5), "p99_us": h.percentile(0.99),
                ]
            },
            "loadgen_cpu_s": cpuUsed,
            "loadgen_cpu_us_per_msg": messages > 0 ? cpuUsed * 1e6 / Double(messages) : 0,
            "closed_early": after.closed,
            "errors": (firstFailure.map { [$0] } ?? []) + after.errors,
        ]
        if let serverBefore, let serverAfter {
            let used = serverAfter - serverBefore
            report["server_cpu_s"] = used
            report["server_cpu_pct"] = used / elapsed * 100
            report["server_cpu_us_per_msg"] = messages > 0 ? used * 1e6 / Double(messages) : 0
        }
        if let serverRSS {
            report["server_rss_kib"] = serverRSS
            report["server_rss_kib_per_connection"] = Double(serverRSS) / Double(max(1, connections))
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
        // The connections are not closed one by one: the process exits right after reporting.
        Foundation.exit(0)
    }

    /// Every receiver's observations so far, added up.
    private func totals(_ receivers: [ReceiverThread]) -> LoadStats {
        var totals = LoadStats()
        for receiver in receivers { receiver.withStats { totals.merge($0) } }
        return totals
    }

    /// utime + stime of a process, from /proc/PID/stat.
    static func processCPUSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS of a process in KiB.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        }
        return nil
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
