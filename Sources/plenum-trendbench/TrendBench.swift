import ArgumentParser
import CoreMetrics
import Logging
import PlenumCore
import PlenumTrends
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Benchmarks of the trend store without a hub: fill a database through the store's writing
/// code, then time history queries through the store's query thread (`make bench`, scenario
/// `history-query`).
@main
struct TrendBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum-trendbench",
        abstract: "Fill a trend database and time history queries on it.",
        subcommands: [Fill.self, Query.self]
    )
}

/// `/bench/unit-<u>/point-<p>`: the channel names both subcommands use.
func benchChannels(_ count: Int) -> [ChannelPath] {
    (0..<count).map { try! ChannelPath("/bench/unit-\($0 / 20)/point-\($0 % 20)") }
}

func nowMicros() -> Int64 { ChannelStore.nowMicros() }

/// CPU time of the whole process (user + system), seconds: with the machine shared, the CPU a
/// query costs says more than its wall time.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

struct Fill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write `days` of per-minute aggregates for `channels` channels, ending now."
    )

    @Option(help: "The database file.") var path: String
    @Option(help: "Channels.") var channels = 1_000
    @Option(help: "Days of minutes.") var days = 30

    func run() throws {
        let paths = benchChannels(channels)
        let last = nowMicros() / 60_000_000
        let first = last - Int64(days) * 1_440
        let started = Deadline.now()
        let rows = try TrendStore.backfill(
            TrendStoreConfiguration(path: path),
            channels: paths,
            minutes: first..<last
        ) { index, minute in
            // A slow wave per channel, different phases: a temperature-like signal.
            let base = 6.5 + Double(index % 7) + Double((minute + Int64(index)) % 240) / 100
            return MinuteAggregate(count: 60, min: base - 0.2, max: base + 0.2, sum: base * 60, last: base + 0.05)
        }
        let seconds = Double(Deadline.monotonicNanoseconds() - started.uptimeNanoseconds) / 1e9
        print(#"{"rows":\#(rows),"seconds":\#(seconds),"rows_per_s":\#(Double(rows) / seconds)}"#)
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time `runs` queries of `hours` hours at one minute, each for a random channel, through the store."
    )

    @Option(help: "The database file.") var path: String
    @Option(help: "Channels in the database (as filled).") var channels = 1_000
    @Option(help: "Queries.") var runs = 200
    @Option(help: "Hours per query.") var hours = 24

    func run() async throws {
        var logger = Logger(label: "trendbench")
        logger.logLevel = .warning
        let configuration = TrendStoreConfiguration(path: path)
        let opening = TrendStore.open(configuration, logger: logger)
        if let failure = opening.failure { throw ValidationError(failure) }
        let store = ChannelStore()
        let trends = TrendStore(opening, store: store, logger: logger, metrics: NOOPMetricsHandler.instance)
        let group = ServiceGroup(services: [trends], logger: logger)
        async let running: Void = group.run()
        let paths = benchChannels(channels)
        var latencies: [Double] = []
        var points = 0
        var generator = SystemRandomNumberGenerator()
        var cpuStart: Double = 0
        for run in 0..<(runs + 5) {
            if run == 5 { cpuStart = processCPUSeconds() }
            let to = nowMicros()
            let query = HistoryQuery(
                channel: paths[Int.random(in: 0..<paths.count, using: &generator)],
                from: to - Int64(hours) * 3_600_000_000,
                to: to,
                step: .seconds(60)
            )
            let started = Deadline.monotonicNanoseconds()
            let result = await withCheckedContinuation { continuation in
                trends.history(query) { continuation.resume(returning: $0) }
            }
            let micros = Double(Deadline.monotonicNanoseconds() - started) / 1_000
            switch result {
            case .success(let answer):
                if run >= 5 {  // the first few warm the page cache and the statements
                    latencies.append(micros)
                    points += answer.count
                }
            case .failure(let error):
                if run >= 5 { throw ValidationError("query failed: \(error)") }
            }
        }
        let cpuPerQuery = (processCPUSeconds() - cpuStart) / Double(max(1, runs)) * 1000
        await group.triggerGracefulShutdown()
        try await running
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(
            #"{"runs":\#(latencies.count),"points_per_query":\#(points / max(1, latencies.count)),"p50_ms":\#(percentile(0.5) / 1000),"p99_ms":\#(percentile(0.99) / 1000),"max_ms":\#((latencies.last ?? 0) / 1000),"cpu_ms_per_query":\#(cpuPerQuery)}"#
        )
    }
}
