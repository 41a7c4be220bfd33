import CoreMetrics
import Foundation
import Logging
import PlenumCore
import PlenumTestSupport
import ServiceLifecycle
import Synchronization

@testable import PlenumTrends

/// A trend store on a temporary database, run in a `ServiceGroup` as the hub runs it.
final class TrendHarness: Sendable {
    let directory: String
    let configuration: TrendStoreConfiguration
    let opening: TrendStore.Opening
    let store: ChannelStore
    let trends: TrendStore
    let log = LogRecorder()
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    static func makeDirectory() -> String {
        let directory = NSTemporaryDirectory() + "plenum-trends-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    init(
        directory: String = TrendHarness.makeDirectory(),
        file: String = "trends.db",
        configure: (inout TrendStoreConfiguration) -> Void = { _ in }
    ) {
        self.directory = directory
        var configuration = TrendStoreConfiguration(path: directory + "/" + file)
        configure(&configuration)
        self.configuration = configuration
        let logger = log.logger()
        opening = TrendStore.open(configuration, logger: logger)
        store = ChannelStore(
            epoch: opening.saved?.epoch,
            // Tests publish minutes of samples at once: a deep history lets the writer see them all.
            history: 1_000,
            restoring: opening.saved?.channels ?? []
        )
        trends = TrendStore(opening, store: store, logger: logger, metrics: NOOPMetricsHandler.instance)
        group = ServiceGroup(services: [trends], logger: logger)
        running = Task { [group] in try await group.run() }
    }

    /// A graceful stop, as SIGTERM gives the hub.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    func removeDirectory() { try? FileManager.default.removeItem(atPath: directory) }

    /// Asks the store (bounded wait for the answer).
    func history(_ query: HistoryQuery) async -> Result<HistoryResult, HistoryError> {
        await withCheckedContinuation { continuation in
            trends.history(query) { continuation.resume(returning: $0) }
        }
    }

    /// Polls (bounded) until `condition` holds.
    func eventually(timeout: Double = 15, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    static func path(_ text: String) -> ChannelPath { try! ChannelPath(text) }

    /// The start of the minute `minutesAgo` minutes before the current one, µs.
    static func minuteStart(minutesAgo: Int64) -> Int64 {
        (ChannelStore.nowMicros() / 60_000_000 - minutesAgo) * 60_000_000
    }
}
