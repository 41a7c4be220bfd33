/// A consumer's view of "what changed since I last looked" in a `ChannelStore`.
///
/// Each event loop (and each device blocked in `hub.wait`) owns one feed. A publish marks
/// the channel dirty in every feed whose filter matches; `ChannelStore.drain(_:)` returns the
/// newest version of each dirty channel and clears the marks, so the cost of a drain is
/// proportional to the number of changed channels, not to the number of channels.
public final class ChangeFeed: Sendable {
    let id: Int
    let filter: ChannelPattern?
    /// Called (outside the store's lock, on the publishing thread) when the feed goes from
    /// nothing pending to something pending. Keep it cheap: schedule work, don't do it.
    let onPending: (@Sendable () -> Void)?

    init(id: Int, filter: ChannelPattern?, onPending: (@Sendable () -> Void)?) {
        self.id = id
        self.filter = filter
        self.onPending = onPending
    }
}

/// The store-side state of a feed (guarded by the store's lock).
struct FeedState {
    let feed: ChangeFeed
    var dirty: [Int] = []
    var isDirty: [Bool] = []
    /// Per channel id: whether the filter matches (nil = not yet checked).
    var matchCache: [Bool?] = []
    /// Per channel id: the newest version handed out by `drainEveryVersion` (feeds made with
    /// `everyVersion: true`; channels beyond the end have handed out nothing yet).
    var lastDrained: [UInt64] = []

    init(feed: ChangeFeed) { self.feed = feed }

    /// Marks a channel dirty; returns true when the feed went from empty to pending.
    mutating func mark(_ id: Int, path: ChannelPath) -> Bool {
        if let filter = feed.filter {
            if matchCache.count <= id {
                matchCache.append(contentsOf: repeatElement(nil, count: id + 1 - matchCache.count))
            }
            let matched: Bool
            if let cached = matchCache[id] {
                matched = cached
            } else {
                matched = filter.matches(path)
                matchCache[id] = matched
            }
            if !matched { return false }
        }
        if isDirty.count <= id { isDirty.append(contentsOf: repeatElement(false, count: id + 1 - isDirty.count)) }
        if isDirty[id] { return false }
        isDirty[id] = true
        dirty.append(id)
        return dirty.count == 1
    }

    mutating func take() -> [Int] {
        let ids = dirty
        for id in ids { isDirty[id] = false }
        dirty.removeAll(keepingCapacity: true)
        return ids
    }

    func lastDrainedVersion(of id: Int) -> UInt64 { id < lastDrained.count ? lastDrained[id] : 0 }

    mutating func setLastDrainedVersion(_ version: UInt64, of id: Int) {
        if lastDrained.count <= id {
            lastDrained.append(contentsOf: repeatElement(0, count: id + 1 - lastDrained.count))
        }
        lastDrained[id] = version
    }

    var hasPending: Bool { !dirty.isEmpty }
}
