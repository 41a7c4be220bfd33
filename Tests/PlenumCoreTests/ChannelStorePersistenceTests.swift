import Testing

@testable import PlenumCore

/// Saving a store and rebuilding it: what a client resuming across a clean restart relies on.
@Suite struct ChannelStorePersistenceTests {
    private let a = try! ChannelPath("/plant/a")
    private let b = try! ChannelPath("/plant/b")

    @Test func aRestoredStoreKeepsTheEpochContinuesVersionsAndReplaysHistory() throws {
        let before = ChannelStore(epoch: "e1", history: 4)
        for i in 1...6 { before.publish(a, .integer(Int64(i)), timestamp: Int64(i)) }
        before.publish(b, .object(["state": .string("running")]), timestamp: 7)
        let feed = before.makeFeed()
        let records = try #require(before.records(ifNothingPendingIn: feed))
        #expect(records.map(\.path) == [a, b])
        #expect(records[0].versions.map(\.version) == [3, 4, 5, 6])
        #expect(records[1].versions == [.init(version: 1, timestamp: 7, value: .object(["state": .string("running")]))])

        let after = ChannelStore(epoch: before.epoch, history: 4, restoring: records)
        #expect(after.epoch == "e1")
        #expect(after.latest(a)?.value == .integer(6))
        #expect(after.latest(b)?.version == 1)
        // A client that had version 4 gets 5 and 6 from the history, then the next publish is 7.
        #expect(after.versions(of: a, after: 4)?.map(\.version) == [5, 6])
        #expect(after.versions(of: a, after: 1) == nil)
        #expect(after.publish(a, .integer(7)).version == 7)
        #expect(after.versions(of: a, after: 4)?.map(\.version) == [5, 6, 7])
        #expect(
            String(decoding: after.latest(b)!.updateMessage, as: UTF8.self)
                == #"{"type":"update","channel":"/plant/b","version":1,"ts":7,"value":{"state":"running"}}"#
        )
    }

    @Test func aSaveRefusesWhileTheFeedHasChangesItHasNotSeen() {
        let store = ChannelStore()
        let feed = store.makeFeed()
        store.publish(a, .integer(1))
        #expect(store.records(ifNothingPendingIn: feed) == nil)
        _ = store.drain(feed)
        #expect(store.records(ifNothingPendingIn: feed)?.count == 1)
    }

    @Test func restoringKeepsOnlyTheConsecutiveRunEndingAtTheLatestVersion() {
        let record = ChannelRecord(
            path: a,
            versions: [
                .init(version: 2, timestamp: 1, value: .integer(2)),
                .init(version: 5, timestamp: 2, value: .integer(5)),
                .init(version: 4, timestamp: 3, value: .integer(4)),
                .init(version: 6, timestamp: 4, value: .integer(6)),
            ]
        )
        let store = ChannelStore(history: 16, restoring: [record])
        #expect(store.latest(a)?.version == 6)
        #expect(store.versions(of: a, after: 4)?.map(\.version) == [5, 6])
        #expect(store.versions(of: a, after: 2) == nil)
    }

    @Test func anEveryVersionFeedHandsOutWhatTheHistoryHoldsAndCountsTheRest() {
        let store = ChannelStore(history: 4)
        store.publish(a, .integer(0))
        let feed = store.makeFeed(everyVersion: true)
        for i in 1...3 { store.publish(a, .integer(Int64(i))) }
        store.publish(b, .integer(1))
        var drained = store.drainEveryVersion(feed)
        #expect(
            drained.versions.map { "\($0.path)@\($0.version)" } == [
                "/plant/a@2", "/plant/a@3", "/plant/a@4", "/plant/b@1",
            ]
        )
        #expect(drained.missed == 0)
        for i in 5...14 { store.publish(a, .integer(Int64(i))) }
        drained = store.drainEveryVersion(feed)
        #expect(drained.versions.map(\.version) == [11, 12, 13, 14])
        #expect(drained.missed == 6)
        #expect(store.drainEveryVersion(feed).versions.isEmpty)
    }

    @Test func anEveryVersionFeedOnARestoredStoreStartsAtTheRestoredVersions() {
        let record = ChannelRecord(path: a, versions: [.init(version: 500, timestamp: 1, value: .integer(1))])
        let store = ChannelStore(restoring: [record])
        let feed = store.makeFeed(everyVersion: true)
        store.publish(a, .integer(2))
        let drained = store.drainEveryVersion(feed)
        #expect(drained.versions.map(\.version) == [501])
        #expect(drained.missed == 0)
    }
}
