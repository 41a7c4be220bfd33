import Foundation
import PlenumCore
import Testing

@testable import PlenumTrends

/// The trend store as the hub runs it: samples in, history out, retention, restore, failures.
@Suite struct TrendStoreTests {
    private let rawPath = TrendHarness.path("/t/raw/temp")
    private let aggregatePath = TrendHarness.path("/t/agg/temp")

    private func withRawPrefix(_ configuration: inout TrendStoreConfiguration) {
        configuration.prefixes[TrendHarness.path("/t/raw")] = .init(raw: true)
    }

    @Test func closedMinutesAreAggregatedAndRawSamplesKeptWhereConfigured() async throws {
        let harness = TrendHarness(configure: withRawPrefix)
        defer { harness.removeDirectory() }
        let start = TrendHarness.minuteStart(minutesAgo: 3)
        for second in 0..<120 {
            let ts = start + Int64(second) * 1_000_000
            let value = Double(second % 60) / 10
            harness.store.publish(rawPath, .double(value), timestamp: ts)
            harness.store.publish(aggregatePath, .integer(Int64(second)), timestamp: ts)
            harness.store.publish(TrendHarness.path("/t/agg/state"), .string("on"), timestamp: ts)
        }
        #expect(
            await harness.eventually {
                harness.trends.status.samplesWritten >= 240 && harness.trends.status.lastWrite != nil
            }
        )

        let minutes = await harness.history(
            HistoryQuery(channel: aggregatePath, from: start, to: start + 120_000_000, step: .seconds(60))
        )
        let buckets = try #require(try? minutes.get())
        #expect(buckets.step == .seconds(60))
        #expect(
            buckets.points
                == .buckets([
                    .init(timestamp: start, count: 60, min: 0, max: 59, mean: 29.5, last: 59),
                    .init(timestamp: start + 60_000_000, count: 60, min: 60, max: 119, mean: 89.5, last: 119),
                ])
        )
        let raw = try #require(
            try? await harness.history(
                HistoryQuery(channel: rawPath, from: start + 30_000_000, to: start + 33_000_000, step: .auto)
            ).get()
        )
        #expect(raw.step == .raw)
        #expect(
            raw.points
                == .raw([
                    .init(timestamp: start + 30_000_000, value: .double(3.0)),
                    .init(timestamp: start + 31_000_000, value: .double(3.1)),
                    .init(timestamp: start + 32_000_000, value: .double(3.2)),
                ])
        )
        // No raw samples under /t/agg: auto answers with minutes; strings were never trended.
        let auto = try #require(
            try? await harness.history(HistoryQuery(channel: aggregatePath, from: start, to: start + 60_000_000)).get()
        )
        #expect(auto.step == .seconds(60) && auto.count == 1)
        let state = await harness.history(
            HistoryQuery(channel: TrendHarness.path("/t/agg/state"), from: start, to: start + 60_000_000)
        )
        #expect(throws: HistoryError.self) { try state.get() }
        if case .failure(let error) = state { #expect(error.code == .unknownChannel) }
        await harness.stop()
    }

    @Test func theMinuteInProgressIsAnsweredBeforeItIsWritten() async throws {
        let harness = TrendHarness()
        defer { harness.removeDirectory() }
        let now = ChannelStore.nowMicros()
        harness.store.publish(aggregatePath, .double(1.5), timestamp: now)
        harness.store.publish(aggregatePath, .double(2.5), timestamp: now)
        var result: HistoryResult?
        #expect(
            await harness.eventually {
                result = try? await harness.history(
                    HistoryQuery(channel: aggregatePath, from: now - 60_000_000, to: now + 1)
                ).get()
                return result?.count == 1
            }
        )
        guard case .buckets(let buckets)? = result?.points else { return }
        #expect(buckets.first?.count == 2 && buckets.first?.mean == 2.0 && buckets.first?.last == 2.5)
        await harness.stop()
    }

    @Test func tooManyPointsAndUnknownChannelsAreClearErrors() async throws {
        let harness = TrendHarness { $0.maxQueryPoints = 100 }
        defer { harness.removeDirectory() }
        let now = ChannelStore.nowMicros()
        harness.store.publish(aggregatePath, .integer(1), timestamp: now)
        let day = await harness.history(
            HistoryQuery(channel: aggregatePath, from: now - 86_400_000_000, to: now, step: .seconds(60))
        )
        if case .failure(let error) = day {
            #expect(
                error.code == .tooManyPoints && error.message.contains("buckets between from and to, more than 100")
            )
        } else {
            Issue.record("expected too_many_points, got \(day)")
        }
        let unknown = await harness.history(
            HistoryQuery(channel: TrendHarness.path("/nothing"), from: now - 1, to: now)
        )
        if case .failure(let error) = unknown {
            #expect(error.code == .unknownChannel)
        } else {
            Issue.record("\(unknown)")
        }
        await harness.stop()
    }

    @Test func aCleanStopSavesTheChannelsAndOnlyTheNextStartContinuesTheEpoch() async throws {
        let directory = TrendHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = TrendHarness(directory: directory)
        #expect(first.opening.saved == nil)
        for i in 1...20 { first.store.publish(aggregatePath, .integer(Int64(i))) }
        first.store.publish(TrendHarness.path("/t/text"), .string("hello"))
        let epoch = first.store.epoch
        await first.stop()
        #expect(first.log.entries.contains { $0.contains("trend store saved 3 channels") })

        let second = TrendHarness(directory: directory)
        let saved = try #require(second.opening.saved)
        #expect(saved.epoch == epoch && second.store.epoch == epoch)
        #expect(second.store.latest(aggregatePath)?.version == 20)
        #expect(second.store.latest(TrendHarness.path("/t/text"))?.value == .string("hello"))
        #expect(second.store.versions(of: aggregatePath, after: 10)?.map(\.version) == Array(11...20))
        #expect(second.store.publish(aggregatePath, .integer(21)).version == 21)
        // The history written before the stop is still there, and the new sample joins it.
        #expect(
            await second.eventually {
                let now = ChannelStore.nowMicros()
                let result = try? await second.history(
                    HistoryQuery(channel: aggregatePath, from: now - 600_000_000, to: now + 1)
                ).get()
                guard case .buckets(let buckets)? = result?.points else { return false }
                return buckets.reduce(0) { $0 + $1.count } == 21 && buckets.last?.last == 21
            }
        )

        // The second run is not stopped cleanly (as after SIGKILL): the next start takes a new epoch.
        let third = TrendHarness(directory: directory)
        #expect(third.opening.saved == nil && third.store.epoch != epoch)
        await third.stop()
        await second.stop()
    }

    @Test func aCorruptFileLeavesTheStoreFailedAndLiveDataFlowing() async throws {
        let directory = TrendHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        try garbage.write(to: URL(fileURLWithPath: directory + "/trends.db"))
        let harness = TrendHarness(directory: directory)
        #expect(harness.opening.failure?.contains("file is not a database") == true)
        #expect(harness.opening.saved == nil)
        #expect(harness.trends.status.state == .failed)
        #expect(
            await harness.eventually {
                harness.store.latest(TrendShared.statusChannel)?.value["state"] == .string("failed")
            }
        )
        #expect(
            harness.store.latest(TrendShared.statusChannel)?.value["error"]?.stringValue?.contains("not a database")
                == true
        )
        #expect(harness.store.publish(aggregatePath, .integer(1)).version == 1)
        let query = await harness.history(HistoryQuery(channel: aggregatePath, from: 0, to: 1))
        if case .failure(let error) = query { #expect(error.code == .unavailable) } else { Issue.record("\(query)") }
        #expect(
            harness.log.entries.contains {
                $0.contains("trend store cannot open its database") && $0.contains("not a database")
            }
        )
        await harness.stop()
    }

    @Test func aDirectoryThatCannotHoldTheFileFailsTheSameWay() async {
        let harness = TrendHarness(directory: "/nonexistent-\(UUID().uuidString)")
        #expect(harness.opening.failure?.contains("unable to open") == true)
        #expect(harness.trends.status.state == .failed)
        #expect(harness.store.publish(aggregatePath, .integer(1)).version == 1)
        await harness.stop()
    }
}
