import PlenumCore

/// What `SubscriberIndex` needs from a subscriber: where it sits in each channel's list.
protocol IndexedSubscriber: AnyObject {
    var id: Int { get }
    /// Channel id → position of this subscriber's entry in that channel's list. Owned by the
    /// index: read it, never write it.
    var slots: [Int: Int] { get set }
}

/// One event loop's index from channel to subscribers, and from pattern to the connections
/// holding it. Pure data, loop-confined, unit-tested without sockets.
///
/// Channel ids are dense (the store hands them out from 0), so a channel's subscribers are found
/// by array position, not hashing; each entry carries the subscriber's push state for that
/// channel (last version sent, bytes owed), so the tick reads and updates it in place. Removal is
/// O(1) (swap with the last entry, whose subscriber's slot is updated), and a channel or pattern
/// left with no subscriber gives its storage back.
struct SubscriberIndex<Subscriber: IndexedSubscriber> {
    struct Entry {
        let subscriber: Subscriber
        /// The last version sent on this channel (0 = none yet).
        var lastSent: UInt64 = 0
        /// The size of the newest frame skipped while the subscriber was not writable (0 = none
        /// owed): what catching up will cost.
        var owed: Int = 0
    }

    /// The subscribers holding one pattern. Most patterns are held by one connection, which then
    /// costs no dictionary of its own.
    enum Holders {
        case one(Subscriber)
        case many([Int: Subscriber])

        var subscribers: [Subscriber] {
            switch self {
            case .one(let subscriber): [subscriber]
            case .many(let all): Array(all.values)
            }
        }
    }

    private(set) var channels: [[Entry]] = []
    /// Exact paths (patterns without wildcards) → subscribers holding them: a channel that
    /// appears finds these by one lookup, however many are held.
    private var exact: [String: Holders] = [:]
    /// Patterns with wildcards → subscribers holding them: matched one by one.
    private var wildcards: [ChannelPattern: Holders] = [:]

    // MARK: - Channels

    /// Adds `subscriber` to `channel`'s list; false when it is already there.
    @discardableResult
    mutating func attach(_ subscriber: Subscriber, to channel: Int) -> Bool {
        guard subscriber.slots[channel] == nil else { return false }
        if channel >= channels.count {
            channels.append(contentsOf: repeatElement([], count: channel + 1 - channels.count))
        }
        subscriber.slots[channel] = channels[channel].count
        channels[channel].append(Entry(subscriber: subscriber))
        return true
    }

    /// Removes `subscriber` from `channel`'s list; returns its entry (nil when it was not there).
    @discardableResult
    mutating func detach(_ subscriber: Subscriber, from channel: Int) -> Entry? {
        guard let slot = subscriber.slots.removeValue(forKey: channel) else { return nil }
        let last = channels[channel].removeLast()
        guard slot < channels[channel].count else {
            if channels[channel].isEmpty { channels[channel] = [] }
            return last
        }
        let removed = channels[channel][slot]
        channels[channel][slot] = last
        last.subscriber.slots[channel] = slot
        return removed
    }

    /// Removes `subscriber` from every channel and pattern.
    mutating func remove(_ subscriber: Subscriber, patterns: some Sequence<ChannelPattern>) {
        for channel in Array(subscriber.slots.keys) { detach(subscriber, from: channel) }
        for pattern in patterns { release(pattern, by: subscriber) }
    }

    /// The entry of `subscriber` on `channel`, if it receives it.
    func entry(of subscriber: Subscriber, on channel: Int) -> Entry? {
        subscriber.slots[channel].map { channels[channel][$0] }
    }

    /// Changes the entry of `subscriber` on `channel`; nothing when it does not receive it.
    mutating func update(_ subscriber: Subscriber, on channel: Int, _ change: (inout Entry) -> Void) {
        guard let slot = subscriber.slots[channel] else { return }
        change(&channels[channel][slot])
    }

    /// Calls `body` with each entry of `channel`, which it may change in place (the tick's
    /// fan-out). `body` must not change the index.
    mutating func forEachEntry(on channel: Int, _ body: (inout Entry) -> Void) {
        guard channel < channels.count else { return }
        for slot in channels[channel].indices { body(&channels[channel][slot]) }
    }

    /// Number of subscribers of `channel`.
    func count(of channel: Int) -> Int { channel < channels.count ? channels[channel].count : 0 }

    // MARK: - Patterns

    mutating func hold(_ pattern: ChannelPattern, by subscriber: Subscriber) {
        if pattern.isExact {
            Self.add(subscriber, to: &exact[pattern.string])
        } else {
            Self.add(subscriber, to: &wildcards[pattern])
        }
    }

    mutating func release(_ pattern: ChannelPattern, by subscriber: Subscriber) {
        if pattern.isExact {
            Self.remove(subscriber, from: &exact[pattern.string])
        } else {
            Self.remove(subscriber, from: &wildcards[pattern])
        }
    }

    /// Who holds `pattern`.
    func holders(of pattern: ChannelPattern) -> Holders? {
        pattern.isExact ? exact[pattern.string] : wildcards[pattern]
    }

    /// Every subscriber holding a pattern that matches `path` (once per pattern it holds): one
    /// lookup for exact paths, one match per distinct wildcard pattern.
    func subscribers(matching path: ChannelPath) -> [Subscriber] {
        var found = exact[path.string]?.subscribers ?? []
        for (pattern, holders) in wildcards where pattern.matches(path) {
            found.append(contentsOf: holders.subscribers)
        }
        return found
    }

    /// Whether no pattern is held at all.
    var holdsNoPattern: Bool { exact.isEmpty && wildcards.isEmpty }

    private static func add(_ subscriber: Subscriber, to holders: inout Holders?) {
        switch holders {
        case nil:
            holders = .one(subscriber)
        case .one(let other):
            guard other !== subscriber else { return }
            holders = .many([other.id: other, subscriber.id: subscriber])
        case .many(var all):
            holders = nil  // keeps `all` uniquely referenced
            all[subscriber.id] = subscriber
            holders = .many(all)
        }
    }

    private static func remove(_ subscriber: Subscriber, from holders: inout Holders?) {
        switch holders {
        case nil:
            return
        case .one(let holder):
            if holder === subscriber { holders = nil }
        case .many(var all):
            holders = nil
            all[subscriber.id] = nil
            holders = all.count == 1 ? .one(all.first!.value) : .many(all)
        }
    }
}
