import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import NIOWebSocket
import PlenumClient

/// `plenum-loadgen`: opens N WebSocket connections to a hub, subscribes each to a pattern, and
/// reports delivered messages, publish→receive latency (from each update's `ts`), version gaps
/// and its own CPU time, as JSON on stdout.
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum-loadgen",
        abstract: "WebSocket load generator for Plenum benchmarks."
    )

    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option(help: "How many connections to open.") var connections = 1
    @Option(help: "Subscription patterns, comma separated; connection i gets pattern i mod count.")
    var patterns = "/**"
    @Option(help: "Seconds to measure after all connections are up.") var duration = 10.0
    @Option(help: "Seconds to wait after connecting before measuring.") var warmup = 1.0
    @Option(help: "Event loops.") var loops = 2
    @Option(help: "The hub's pid: its CPU time and RSS are read from /proc over the same window.")
    var serverPid: Int32?

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        var statsByLoop: [ObjectIdentifier: LoadStats] = [:]
        for loop in group.makeIterator() { statsByLoop[ObjectIdentifier(loop)] = LoadStats() }
        let allStats = statsByLoop
        let start = Date().timeIntervalSince1970
        let patternList = patterns.split(separator: ",").map(String.init)
        let connectStart = Date()
        var channels: [Channel] = []
        channels.reserveCapacity(connections)
        var failures = 0
        for i in 0..<connections {
            let path = "/ws" + patternList[i % patternList.count]
            do {
                channels.append(
                    try await WebSocketConnector.connect(host: host, port: port, path: path, group: group) { channel in
                        [LoadReceiver(stats: allStats[ObjectIdentifier(channel.eventLoop)]!, start: start)]
                    }
                )
            } catch {
                failures += 1
            }
        }
        // Wait until every connection has upgraded (bounded).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let connected = try await sum(allStats, group) { $0.connected }
            if connected + failures >= connections { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let connectSeconds = Date().timeIntervalSince(connectStart)
        try await Task.sleep(for: .seconds(warmup))
        // Only the measurement window counts towards the latency figures.
        for loop in group.makeIterator() {
            let s = allStats[ObjectIdentifier(loop)]!
            try await loop.submit { s.histogram = LatencyHistogram() }.get()
        }
        let before = try await snapshot(allStats, group)
        let cpuBefore = Self.cpuSeconds()
        let serverBefore = serverPid.flatMap(Self.processCPUSeconds)
        let measureStart = Date()
        try await Task.sleep(for: .seconds(duration))
        let elapsed = Date().timeIntervalSince(measureStart)
        let cpuUsed = Self.cpuSeconds() - cpuBefore
        let serverAfter = serverPid.flatMap(Self.processCPUSeconds)
        let serverRSS = serverPid.flatMap(Self.residentKiB)
        let after = try await snapshot(allStats, group)
        // The connections are not closed one by one: the process exits right after reporting.
        _ = channels

        let messages = after.messages - before.messages
        let histogram = after.histogram
        var timeline: [Int: LatencyHistogram] = [:]
        for (second, h) in after.timeline.enumerated() where h.count > 0 { timeline[second] = h }
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
            "timeline": timeline.keys.sorted().map { second in
                let h = timeline[second]!
                return [
                    "second": second, "messages": h.count, "p50_us": h.percentile(0.5), "p99_us": h.percentile(0.99),
                ]
            },
            "loadgen_cpu_s": cpuUsed,
            "loadgen_cpu_us_per_msg": messages > 0 ? cpuUsed * 1e6 / Double(messages) : 0,
            "closed_early": after.closed,
            "errors": after.errors,
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
        Foundation.exit(0)
    }

    private struct Totals {
        var messages = 0
        var bytes = 0
        var skipped: UInt64 = 0
        var connected = 0
        var closed = 0
        var histogram = LatencyHistogram()
        var timeline: [LatencyHistogram] = []
        var errors: [String] = []
    }

    /// Reads every loop's counters on its own loop.
    private func snapshot(
        _ stats: [ObjectIdentifier: LoadStats],
        _ group: MultiThreadedEventLoopGroup
    ) async throws
        -> Totals
    {
        var totals = Totals()
        for loop in group.makeIterator() {
            let s = stats[ObjectIdentifier(loop)]!
            let part = try await loop.submit {
                Totals(
                    messages: s.messages,
                    bytes: s.bytes,
                    skipped: s.skipped,
                    connected: s.connected,
                    closed: s.closed,
                    histogram: s.histogram,
                    timeline: s.timeline,
                    errors: s.errors
                )
            }.get()
            totals.messages += part.messages
            totals.bytes += part.bytes
            totals.skipped += part.skipped
            totals.connected += part.connected
            totals.closed += part.closed
            totals.histogram.merge(part.histogram)
            for (second, h) in part.timeline.enumerated() {
                if totals.timeline.count <= second { totals.timeline.append(LatencyHistogram()) }
                totals.timeline[second].merge(h)
            }
            totals.errors += part.errors
        }
        return totals
    }

    private func sum(
        _ stats: [ObjectIdentifier: LoadStats],
        _ group: MultiThreadedEventLoopGroup,
        _ field: @escaping @Sendable (LoadStats) -> Int
    ) async throws -> Int {
        var total = 0
        for loop in group.makeIterator() {
            let s = stats[ObjectIdentifier(loop)]!
            total += try await loop.submit { field(s) }.get()
        }
        return total
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
