import Foundation
import PlenumCore
import Testing

@testable import PlenumTrends

/// The layers under the store: the buffer's bound, retention in steps.
@Suite struct TrendDatabaseTests {
    private func bucket(_ path: String, minute: Int64, keep: Int64, raw: Int = 0) -> TrendBuffer.Bucket {
        var packer: SamplePacker?
        if raw > 0 {
            packer = SamplePacker(minuteStart: minute * 60_000_000)
            for i in 0..<raw { packer?.append(timestamp: minute * 60_000_000 + Int64(i), .integer(Int64(i))) }
        }
        return TrendBuffer.Bucket(
            channelID: 0,
            path: TrendHarness.path(path),
            minute: minute,
            policy: TrendPolicy(aggregateMinutes: keep, rawMinutes: raw > 0 ? keep : 0),
            aggregate: MinuteAggregate(1),
            raw: packer
        )
    }

    @Test func retentionDeletesExpiredRowsInBoundedStepsAndKeepsTheRest() throws {
        let directory = TrendHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try TrendDatabase(path: directory + "/t.db")
        let now = ChannelStore.nowMicros()
        let current = TrendBuffer.minute(of: now)
        var buckets: [TrendBuffer.Bucket] = []
        for age: Int64 in [200, 150, 100, 70, 50, 10] {
            buckets.append(bucket("/a", minute: current - age, keep: 60, raw: 3))
            buckets.append(bucket("/b", minute: current - age, keep: 120))
        }
        try database.write([TrendBuffer.Batch(generation: 1, buckets: buckets)])
        // Expired: /a rows (and raw rows) older than 60 min (4+4), /b rows older than 120 min (2).
        var deleted: [Int] = []
        while true {
            let step = try database.expire(now: now, limit: 3)
            deleted.append(step)
            if step < 3 { break }
        }
        #expect(deleted.reduce(0, +) == 10)
        #expect(deleted.allSatisfy { $0 <= 3 })
        #expect(try database.connection.integer("SELECT count(*) FROM minutes") == 12 - 6)
        #expect(try database.connection.integer("SELECT count(*) FROM raw") == 2)
        #expect(try database.writtenGeneration() == 1)
    }

    @Test func rowsWrittenTwiceForOneMinuteAreMerged() throws {
        let directory = TrendHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try TrendDatabase(path: directory + "/t.db")
        var first = bucket("/a", minute: 1_000, keep: 60, raw: 2)
        first.aggregate = MinuteAggregate(count: 2, min: 1, max: 5, sum: 6, last: 5)
        var second = bucket("/a", minute: 1_000, keep: 60, raw: 1)
        second.aggregate = MinuteAggregate(count: 1, min: 0, max: 0, sum: 0, last: 0)
        try database.write([TrendBuffer.Batch(generation: 1, buckets: [first])])
        try database.write([TrendBuffer.Batch(generation: 2, buckets: [second])])
        let row = try database.connection.prepare("SELECT count, min, max, sum, last FROM minutes")
        #expect(try row.step())
        #expect([row.double(0), row.double(1), row.double(2), row.double(3), row.double(4)] == [3, 0, 5, 6, 0])
        let raw = try database.connection.prepare("SELECT samples FROM raw")
        #expect(try raw.step())
        #expect(SampleUnpacker.unpack(raw.blob(0), minuteStart: 60_000_000_000).samples.count == 3)
    }

    @Test func aFullBufferDropsTheOldestRawSamplesFirstThenTheOldestMinutes() throws {
        let configuration = TrendStoreConfiguration(path: "/unused", raw: true, maxPendingBytes: 1_500)
        let buffer = TrendBuffer(configuration: configuration, firstGeneration: 1)
        let store = ChannelStore()
        let feed = store.makeFeed(everyVersion: true)
        let base = TrendBuffer.minute(of: ChannelStore.nowMicros()) - 100
        // Ten channels, two closed minutes each, 60 samples a minute: far over 1,500 bytes.
        for minute in 0..<3 {
            for second in 0..<60 {
                for channel in 0..<10 {
                    let ts = (base + Int64(minute)) * 60_000_000 + Int64(second) * 1_000_000
                    store.publish(TrendHarness.path("/c/\(channel)"), .double(Double(second) + 0.25), timestamp: ts)
                }
                buffer.record(store.drainEveryVersion(feed).versions)
            }
        }
        let batches = buffer.seal(closingBefore: base + 2)
        #expect(buffer.pendingBytes <= 1_500)
        #expect(buffer.counters.droppedRawSamples == 1_200)
        #expect(buffer.counters.droppedMinutes > 0)
        // What is left is the newest minutes, without raw samples.
        let kept = batches.flatMap(\.buckets)
        #expect(kept.allSatisfy { $0.raw == nil })
        #expect(kept.last?.minute == base + 1)
        #expect(Int(buffer.counters.droppedMinutes) + kept.count == 20)
    }
}
