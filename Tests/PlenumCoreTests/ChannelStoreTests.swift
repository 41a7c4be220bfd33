import Synchronization
import Testing

@testable import PlenumCore

@Suite struct ChannelStoreTests {
    private let a = try! ChannelPath("/plant/a")
    private let b = try! ChannelPath("/plant/b")

    @Test func versionsCountUpPerChannelAndUpdatesArePreEncoded() throws {
        let store = ChannelStore(epoch: "e1")
        #expect(store.publish(a, .integer(1), timestamp: 10).version == 1)
        #expect(store.publish(a, .integer(2), timestamp: 11).version == 2)
        let v = store.publish(b, .string("x"), timestamp: 12)
        #expect(v.version == 1)
        #expect(
            String(decoding: v.updateMessage, as: UTF8.self)
                == #"{"type":"update","channel":"/plant/b","version":1,"ts":12,"value":"x"}"#
        )
        #expect(store.latest(a)?.value == .integer(2))
        #expect(store.latest(try ChannelPath("/nope")) == nil)
        #expect(store.channelCount == 2)
        #expect(store.epoch == "e1")
    }

    @Test func epochIsRandomPerStore() {
        #expect(ChannelStore().epoch != ChannelStore().epoch)
        #expect(ChannelStore().epoch.count == 16)
    }

    @Test func snapshotReturnsMatchingChannelsSortedByPath() throws {
        let store = ChannelStore()
        store.publish(b, .integer(1))
        store.publish(a, .integer(1))
        store.publish(try ChannelPath("/other/c"), .integer(1))
        #expect(store.snapshot(matching: [try ChannelPattern("/plant/*")]).map(\.path) == [a, b])
        #expect(store.all().count == 3)
    }

    @Test func feedReportsEachChangedChannelOnceWithItsNewestVersion() throws {
        let store = ChannelStore()
        let feed = store.makeFeed()
        store.publish(a, .integer(1))
        store.publish(b, .integer(1))
        store.publish(a, .integer(2))
        let changes = store.drain(feed)
        #expect(changes.map(\.path) == [a, b])
        #expect(changes.map(\.version) == [2, 1])
        #expect(store.drain(feed).isEmpty)
        store.publish(b, .integer(2))
        #expect(store.drain(feed).map(\.version) == [2])
    }

    @Test func filteredFeedSeesOnlyMatchesAndWakesOncePerBatch() throws {
        let store = ChannelStore()
        let wakes = Atomic<Int>(0)
        let feed = store.makeFeed(filter: try ChannelPattern("/plant/b")) {
            wakes.add(1, ordering: .relaxed)
        }
        store.publish(a, .integer(1))
        #expect(wakes.load(ordering: .relaxed) == 0)
        store.publish(b, .integer(1))
        store.publish(b, .integer(2))
        #expect(wakes.load(ordering: .relaxed) == 1)
        #expect(store.drain(feed).map(\.version) == [2])
        store.publish(b, .integer(3))
        #expect(wakes.load(ordering: .relaxed) == 2)
        store.removeFeed(feed)
        #expect(store.drain(feed).isEmpty)
    }

    @Test func concurrentWritersLoseNoVersion() async throws {
        let store = ChannelStore()
        let feed = store.makeFeed()
        let paths = try (0..<8).map { try ChannelPath("/w/\($0 % 4)") }
        await withTaskGroup(of: Void.self) { group in
            for path in paths {
                group.addTask {
                    for i in 0..<5_000 { store.publish(path, .integer(Int64(i))) }
                }
            }
        }
        // Four channels, each written by two writers 5,000 times.
        for i in 0..<4 {
            #expect(store.latest(try ChannelPath("/w/\(i)"))?.version == 10_000)
        }
        #expect(store.drain(feed).count == 4)
    }
}

@Suite struct ChannelHistoryTests {
    private let a = try! ChannelPath("/h/a")

    @Test func missedVersionsComeBackInOrderWhileHeld() {
        let store = ChannelStore(history: 4)
        for i in 1...6 { store.publish(a, .integer(Int64(i))) }
        #expect(store.versions(of: a, after: 6)?.isEmpty == true)
        #expect(store.versions(of: a, after: 3)?.map(\.version) == [4, 5, 6])
        #expect(store.versions(of: a, after: 2)?.map(\.version) == [3, 4, 5, 6])
        #expect(store.versions(of: a, after: 1) == nil)
        #expect(store.versions(of: try! ChannelPath("/h/unknown"), after: 0)?.isEmpty == true)
    }

    @Test func noHistoryMeansOnlyTheLatestCounts() {
        let store = ChannelStore(history: 0)
        store.publish(a, .integer(1))
        store.publish(a, .integer(2))
        #expect(store.versions(of: a, after: 2)?.isEmpty == true)
        #expect(store.versions(of: a, after: 1) == nil)
    }
}

@Suite struct HistoryByPrefixTests {
    @Test func theLongestMatchingPrefixDecidesTheDepth() throws {
        let store = ChannelStore(
            history: 2,
            historyByPrefix: [try ChannelPath("/plant"): 4, try ChannelPath("/plant/line2"): 8]
        )
        #expect(store.historyDepth(of: try ChannelPath("/other/x")) == 2)
        #expect(store.historyDepth(of: try ChannelPath("/plant/line1/x")) == 4)
        #expect(store.historyDepth(of: try ChannelPath("/plant/line2")) == 8)
        #expect(store.historyDepth(of: try ChannelPath("/plant/line2/chiller/t")) == 8)
        #expect(store.historyDepth(of: try ChannelPath("/plant/line20/x")) == 4)
        let deep = try ChannelPath("/plant/line2/t")
        for i in 1...10 { store.publish(deep, .integer(Int64(i))) }
        #expect(store.versions(of: deep, after: 2)?.map(\.version) == [3, 4, 5, 6, 7, 8, 9, 10])
        #expect(store.versions(of: deep, after: 1) == nil)
    }
}
