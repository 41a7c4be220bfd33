import PlenumCore
import Testing

@testable import PlenumServer

/// The per-loop channel → subscribers index, without sockets.
@Suite struct SubscriberIndexTests {
    final class Subscriber: IndexedSubscriber {
        let id: Int
        var slots: [Int: Int] = [:]
        init(_ id: Int) { self.id = id }
    }

    private func ids(_ index: SubscriberIndex<Subscriber>, _ channel: Int) -> [Int] {
        guard channel < index.channels.count else { return [] }
        return index.channels[channel].map(\.subscriber.id)
    }

    /// Every subscriber's slots point at its own entries, and nothing else does.
    private func consistent(_ index: SubscriberIndex<Subscriber>, _ subscribers: [Subscriber]) -> Bool {
        for subscriber in subscribers {
            for (channel, slot) in subscriber.slots where index.channels[channel][slot].subscriber !== subscriber {
                return false
            }
        }
        let entries = index.channels.reduce(0) { $0 + $1.count }
        return entries == subscribers.reduce(0) { $0 + $1.slots.count }
    }

    @Test func attachIsIdempotentAndStartsAtVersionZero() {
        var index = SubscriberIndex<Subscriber>()
        let a = Subscriber(1)
        let first = index.attach(a, to: 3)
        let second = index.attach(a, to: 3)
        #expect(first && !second)
        #expect(ids(index, 3) == [1])
        #expect(index.entry(of: a, on: 3)?.lastSent == 0)
        #expect(index.count(of: 3) == 1 && index.count(of: 0) == 0 && index.count(of: 99) == 0)
    }

    @Test func removalSwapsTheLastEntryInAndKeepsSlotsRight() {
        var index = SubscriberIndex<Subscriber>()
        let subscribers = (1...5).map(Subscriber.init)
        for s in subscribers { index.attach(s, to: 0) }
        index.update(subscribers[4], on: 0) { $0.lastSent = 42 }
        let removed = index.detach(subscribers[1], from: 0)
        #expect(removed?.subscriber === subscribers[1])
        let again = index.detach(subscribers[1], from: 0)
        #expect(ids(index, 0) == [1, 5, 3, 4])
        #expect(index.entry(of: subscribers[4], on: 0)?.lastSent == 42)
        #expect(subscribers[4].slots[0] == 1)
        #expect(again == nil)
        #expect(consistent(index, subscribers))
    }

    @Test func anEmptiedChannelGivesItsStorageBack() {
        var index = SubscriberIndex<Subscriber>()
        let subscribers = (1...100).map(Subscriber.init)
        for s in subscribers { index.attach(s, to: 2) }
        for s in subscribers { index.detach(s, from: 2) }
        #expect(index.count(of: 2) == 0)
        #expect(index.channels[2].capacity == 0)
    }

    @Test func removingASubscriberClearsEveryChannelAndPattern() throws {
        var index = SubscriberIndex<Subscriber>()
        let a = Subscriber(1)
        let b = Subscriber(2)
        let pattern = try ChannelPattern("/x/**")
        for channel in 0..<10 {
            index.attach(a, to: channel)
            if channel.isMultiple(of: 2) { index.attach(b, to: channel) }
        }
        index.hold(pattern, by: a)
        index.hold(pattern, by: b)
        index.remove(a, patterns: [pattern])
        #expect(a.slots.isEmpty)
        #expect((0..<10).map { index.count(of: $0) } == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        #expect(index.holders(of: pattern)?.subscribers.map(\.id) == [2])
        index.remove(b, patterns: [pattern])
        #expect(index.holdsNoPattern)
        #expect(consistent(index, [a, b]))
    }

    @Test func aPatternHeldByOneThenManyThenOne() throws {
        var index = SubscriberIndex<Subscriber>()
        let pattern = try ChannelPattern("/p/*")
        let (a, b, c) = (Subscriber(1), Subscriber(2), Subscriber(3))
        index.hold(pattern, by: a)
        index.hold(pattern, by: a)
        #expect(index.holders(of: pattern)?.subscribers.map(\.id) == [1])
        index.hold(pattern, by: b)
        index.hold(pattern, by: c)
        #expect(index.holders(of: pattern)?.subscribers.map(\.id).sorted() == [1, 2, 3])
        index.release(pattern, by: a)
        index.release(pattern, by: c)
        guard case .one(let last)? = index.holders(of: pattern) else {
            Issue.record("not back to one holder")
            return
        }
        #expect(last === b)
        index.release(pattern, by: a)
        index.release(pattern, by: b)
        #expect(index.holdsNoPattern)
    }

    @Test func aNewChannelFindsExactAndWildcardHolders() throws {
        var index = SubscriberIndex<Subscriber>()
        let (a, b, c) = (Subscriber(1), Subscriber(2), Subscriber(3))
        index.hold(try ChannelPattern("/plant/l1/t"), by: a)
        index.hold(try ChannelPattern("/plant/*/t"), by: b)
        index.hold(try ChannelPattern("/plant/**"), by: c)
        index.hold(try ChannelPattern("/plant/l2/t"), by: c)
        let ids = { (path: String) in index.subscribers(matching: try ChannelPath(path)).map(\.id).sorted() }
        #expect(try ids("/plant/l1/t") == [1, 2, 3])
        #expect(try ids("/plant/l2/t") == [2, 3, 3])
        #expect(try ids("/plant/l1") == [3])
        #expect(try ids("/other") == [])
    }

    @Test func forEachEntryChangesEntriesInPlace() {
        var index = SubscriberIndex<Subscriber>()
        let subscribers = (1...3).map(Subscriber.init)
        for s in subscribers { index.attach(s, to: 1) }
        index.forEachEntry(on: 1) { $0.lastSent = UInt64($0.subscriber.id * 10) }
        index.forEachEntry(on: 7) { _ in Issue.record("no such channel") }
        #expect(subscribers.map { index.entry(of: $0, on: 1)?.lastSent } == [10, 20, 30])
    }

    /// Random attach/detach sequences keep every slot pointing at its own entry.
    @Test func randomChurnStaysConsistent() {
        var index = SubscriberIndex<Subscriber>()
        let subscribers = (0..<20).map(Subscriber.init)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let s = subscribers[Int.random(in: 0..<20, using: &generator)]
            let channel = Int.random(in: 0..<8, using: &generator)
            if Bool.random(using: &generator) { index.attach(s, to: channel) } else { index.detach(s, from: channel) }
        }
        #expect(consistent(index, subscribers))
    }
}
