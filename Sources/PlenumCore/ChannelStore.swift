import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The hub's versioned channels: the only state shared between device threads and event loops.
///
/// Writers (`publish`) may be on any thread; readers (`latest`, `snapshot`, `drain`) too. One
/// lock guards the table; the work done under it is a dictionary lookup, copying the encoded
/// value into the update message, an array store and a few dirty marks. Values are encoded to
/// JSON before the lock is taken, so a large value does not hold up the event loops.
public final class ChannelStore: Sendable {
    struct State {
        var ids: [ChannelPath: Int] = [:]
        var pathJSON: [[UInt8]] = []
        var latest: [ChannelVersion?] = []
        /// The last versions of each channel (as many as its history depth).
        var history: [VersionHistory] = []
        var feeds: [FeedState] = []
        var nextFeedID = 0
    }

    /// A random id for this run of the hub: (epoch, version) names a point in a channel's history
    /// unambiguously across restarts.
    public let epoch: String
    /// Versions kept per channel for clients that resume (`channels.history`).
    public let historyDepth: Int
    /// Depths for channels under particular prefixes; the longest matching prefix wins.
    private let historyByPrefix: [(prefix: ChannelPath, depth: Int)]
    let state: Mutex<State>

    /// - Parameters:
    ///   - epoch: this run's epoch; nil draws a new random one. Pass a saved epoch only together
    ///     with the channels saved with it (see `ChannelStore+Persistence.swift`).
    ///   - restoring: channels to start with, as `records(ifNothingPendingIn:)` returned them;
    ///     each continues from its latest version, and its history (as deep as configured now)
    ///     holds the versions given before it.
    public init(
        epoch: String? = nil,
        history: Int = 16,
        historyByPrefix: [ChannelPath: Int] = [:],
        restoring records: [ChannelRecord] = []
    ) {
        self.epoch = epoch ?? Self.makeEpoch()
        self.historyDepth = max(0, history)
        let byPrefix = historyByPrefix.map { ($0.key, max(0, $0.value)) }
            .sorted { $0.0.string.utf8.count > $1.0.string.utf8.count }
        self.historyByPrefix = byPrefix
        self.state = Mutex(
            Self.restoredState(records, depth: { Self.depth(of: $0, byPrefix, default: max(0, history)) })
        )
    }

    /// The history depth of `path`: the longest configured prefix that contains it, or the default.
    public func historyDepth(of path: ChannelPath) -> Int {
        Self.depth(of: path, historyByPrefix, default: historyDepth)
    }

    private static func depth(
        of path: ChannelPath,
        _ byPrefix: [(prefix: ChannelPath, depth: Int)],
        default depth: Int
    ) -> Int {
        for (prefix, prefixDepth) in byPrefix
        where path.string == prefix.string || path.string.hasPrefix(prefix.string + "/") {
            return prefixDepth
        }
        return depth
    }

    private static func makeEpoch() -> String {
        let raw = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - raw.count) + raw
    }

    /// Microseconds since the Unix epoch, from the wall clock.
    public static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// Publishes a new version of `path` and returns it. The first publish creates the channel.
    @discardableResult
    public func publish(_ path: ChannelPath, _ value: JSONValue, timestamp: Int64? = nil) -> ChannelVersion {
        let ts = timestamp ?? Self.nowMicros()
        let valueJSON = value.jsonBytes
        var wake: [@Sendable () -> Void] = []
        let published = state.withLock { state -> ChannelVersion in
            let id: Int
            if let existing = state.ids[path] {
                id = existing
            } else {
                id = state.latest.count
                state.ids[path] = id
                var json: [UInt8] = []
                JSONValue.encodeString(path.string, into: &json)
                state.pathJSON.append(json)
                state.latest.append(nil)
                state.history.append(VersionHistory(capacity: historyDepth(of: path)))
            }
            let version = (state.latest[id]?.version ?? 0) + 1
            let entry = ChannelVersion(
                channelID: id,
                path: path,
                pathJSON: state.pathJSON[id],
                version: version,
                timestamp: ts,
                value: value,
                valueJSON: valueJSON
            )
            state.latest[id] = entry
            state.history[id].append(entry)
            for index in state.feeds.indices where state.feeds[index].mark(id, path: path) {
                if let callback = state.feeds[index].feed.onPending { wake.append(callback) }
            }
            return entry
        }
        for callback in wake { callback() }
        return published
    }

    /// The newest version of `path`, or nil if nothing was ever published there.
    public func latest(_ path: ChannelPath) -> ChannelVersion? {
        state.withLock { state in state.ids[path].flatMap { state.latest[$0] } }
    }

    /// The newest version of the channel with this id.
    public func latest(id: Int) -> ChannelVersion? {
        state.withLock { state in id < state.latest.count ? state.latest[id] : nil }
    }

    /// The newest version of every channel matching any of `patterns`, sorted by path.
    public func snapshot(matching patterns: [ChannelPattern]) -> [ChannelVersion] {
        let all = state.withLock { state in state.latest }
        return all.compactMap { $0 }.filter { version in patterns.contains { $0.matches(version.path) } }
            .sorted { $0.path < $1.path }
    }

    /// The newest version of every channel, sorted by path.
    public func all() -> [ChannelVersion] {
        state.withLock { state in state.latest }.compactMap { $0 }.sorted { $0.path < $1.path }
    }

    /// Every version of `path` newer than `version`, oldest first — or nil when some of them
    /// are no longer held (the history is shorter than the gap).
    public func versions(of path: ChannelPath, after version: UInt64) -> [ChannelVersion]? {
        state.withLock { state -> [ChannelVersion]? in
            guard let id = state.ids[path], let newest = state.latest[id] else { return version == 0 ? [] : nil }
            if newest.version <= version { return [] }
            let held = state.history[id].versions
            guard let oldest = held.first, oldest.version <= version + 1 else { return nil }
            return held.filter { $0.version > version }
        }
    }

    public var channelCount: Int { state.withLock { $0.ids.count } }

    // MARK: - Change feeds

    /// Registers a feed that collects every channel changed from now on (or only those matching `filter`).
    ///
    /// With `everyVersion`, the feed also remembers the version it last handed out per channel
    /// (starting from each channel's current version), so that `drainEveryVersion(_:)` can return
    /// the versions in between from the channels' histories. Marking a channel on publish costs
    /// the same either way.
    public func makeFeed(
        filter: ChannelPattern? = nil,
        everyVersion: Bool = false,
        onPending: (@Sendable () -> Void)? = nil
    ) -> ChangeFeed {
        state.withLock { state in
            let feed = ChangeFeed(id: state.nextFeedID, filter: filter, onPending: onPending)
            state.nextFeedID += 1
            var feedState = FeedState(feed: feed)
            if everyVersion { feedState.lastDrained = state.latest.map { $0?.version ?? 0 } }
            state.feeds.append(feedState)
            return feed
        }
    }

    public func removeFeed(_ feed: ChangeFeed) {
        state.withLock { state in state.feeds.removeAll { $0.feed.id == feed.id } }
    }

    /// The newest version of every channel changed since the previous drain of `feed`, in the
    /// order the channels first changed. Cost is proportional to the number of changed channels.
    public func drain(_ feed: ChangeFeed) -> [ChannelVersion] {
        state.withLock { state in
            guard let index = state.feeds.firstIndex(where: { $0.feed.id == feed.id }) else { return [] }
            return state.feeds[index].take().compactMap { state.latest[$0] }
        }
    }

    /// Like `drain(_:)`, but every version published since the previous drain that the channels'
    /// histories still hold, per channel in version order (channels in the order they first
    /// changed). `missed` counts the versions no longer held: a channel published more than its
    /// history depth between two drains. Only for feeds made with `everyVersion: true`.
    public func drainEveryVersion(_ feed: ChangeFeed) -> (versions: [ChannelVersion], missed: UInt64) {
        state.withLock { state in
            guard let index = state.feeds.firstIndex(where: { $0.feed.id == feed.id }) else { return ([], 0) }
            var versions: [ChannelVersion] = []
            var missed: UInt64 = 0
            for id in state.feeds[index].take() {
                guard let newest = state.latest[id] else { continue }
                let after = state.feeds[index].lastDrainedVersion(of: id)
                if newest.version <= after { continue }
                if newest.version == after + 1 {
                    versions.append(newest)
                } else {
                    var held = state.history[id].versions(after: after)
                    if held.last?.version != newest.version { held.append(newest) }
                    missed += newest.version - after - UInt64(held.count)
                    versions.append(contentsOf: held)
                }
                state.feeds[index].setLastDrainedVersion(newest.version, of: id)
            }
            return (versions, missed)
        }
    }
}
