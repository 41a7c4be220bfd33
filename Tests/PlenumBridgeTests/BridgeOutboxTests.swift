import PlenumCore
import Testing

@testable import PlenumBridge

/// The outbox without a broker: what the broker would receive, message by message.
@Suite struct BridgeOutboxTests {
    let store = ChannelStore(history: 0)

    private func publish(_ path: String, _ value: Int64) -> ChannelVersion {
        store.publish(try! ChannelPath(path), .integer(value))
    }

    /// Takes everything the window allows: (path, version) per message, with made-up ids.
    private func drain(_ outbox: inout BridgeOutbox, firstMid: Int32 = 1) -> [(String, UInt64, Int32)] {
        var sent: [(String, UInt64, Int32)] = []
        var mid = firstMid
        while let version = outbox.next() {
            outbox.published(version, mid: mid)
            sent.append((version.path.string, version.version, mid))
            mid += 1
        }
        return sent
    }

    @Test func whileNothingCanBeSentOnlyTheNewestVersionOfEachChannelIsKept() {
        var outbox = BridgeOutbox(window: 10)
        for n in 1...1000 {
            outbox.offer(publish("/a", Int64(n)))
            outbox.offer(publish("/b", Int64(n)))
        }
        #expect(outbox.pendingCount == 2)
        let sent = drain(&outbox)
        #expect(sent.map(\.0) == ["/a", "/b"])
        #expect(sent.map(\.1) == [1000, 1000])
        #expect(outbox.conflated == 2 * 999)
    }

    @Test func theWindowBoundsWhatIsInFlightAndAcknowledgementsReopenIt() {
        var outbox = BridgeOutbox(window: 3)
        for k in 1...10 { outbox.offer(publish("/c\(k)", 1)) }
        let first = drain(&outbox)
        #expect(first.count == 3)
        #expect(outbox.inFlightCount == 3)
        #expect(outbox.next() == nil)
        let acknowledged = outbox.acknowledge(first[0].2)
        #expect(acknowledged)
        let second = drain(&outbox, firstMid: 100)
        #expect(second.map(\.0) == ["/c4"])
        #expect(outbox.acknowledged == 1)
    }

    @Test func aNewerVersionWaitsForTheOlderOnesAcknowledgementSoNothingStaleFollowsIt() {
        var outbox = BridgeOutbox(window: 10)
        outbox.offer(publish("/x", 1))
        let first = drain(&outbox)
        #expect(first.map(\.1) == [1])
        outbox.offer(publish("/x", 2))
        outbox.offer(publish("/x", 3))
        // Version 1 is still in flight (libmosquitto may resend it after a reconnect).
        #expect(outbox.next() == nil)
        outbox.connectionLost(qos: 1)
        #expect(outbox.next() == nil)
        outbox.acknowledge(first[0].2)
        let second = drain(&outbox, firstMid: 50)
        #expect(second.map(\.1) == [3])
        #expect(outbox.conflated == 1)
    }

    @Test func qos0MessagesLostWithTheConnectionAreSentAgainUnlessANewerOneWaits() {
        var outbox = BridgeOutbox(window: 10)
        outbox.offer(publish("/p", 1))
        outbox.offer(publish("/q", 1))
        _ = drain(&outbox)
        outbox.offer(publish("/q", 2))
        outbox.connectionLost(qos: 0)
        #expect(outbox.inFlightCount == 0)
        // After the reconnect the bridge offers every channel's latest again.
        outbox.offer(store.latest(try! ChannelPath("/p"))!, resend: true)
        outbox.offer(store.latest(try! ChannelPath("/q"))!, resend: true)
        let again = drain(&outbox)
        #expect(Set(again.map { "\($0.0)@\($0.1)" }) == ["/p@1", "/q@2"])
    }

    @Test func versionsAlreadySentAreNotSentAgainWithoutAResend() {
        var outbox = BridgeOutbox(window: 10)
        let v1 = publish("/r", 1)
        outbox.offer(v1)
        let sent = drain(&outbox)
        outbox.acknowledge(sent[0].2)
        outbox.offer(v1)
        #expect(outbox.next() == nil)
        #expect(outbox.isIdle)
        outbox.offer(v1, resend: true)
        #expect(drain(&outbox).map(\.1) == [1])
    }

    @Test func memoryStaysBoundedByTheChannelCountWhateverThePublishRate() {
        var outbox = BridgeOutbox(window: 5)
        for round in 1...200 {
            for k in 1...50 { outbox.offer(publish("/m\(k)", Int64(round))) }
        }
        #expect(outbox.pendingCount == 50)
        #expect(outbox.sendableCount == 50)
    }
}
