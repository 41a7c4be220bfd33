/// Saving a store at a clean stop and rebuilding it at the next start.
///
/// Neither touches `publish`: restoring happens in `init`, before anyone can publish, and a
/// save copies the table under the lock like `all()` does.
extension ChannelStore {
    /// Every channel as a record: its held history, oldest first, ending with its latest version
    /// — or nil when `feed` has changes not yet drained (something was published after the
    /// owner of `feed` last looked, so the caller's view is not final yet). Checked and copied
    /// under one lock, so nothing can be published in between.
    public func records(ifNothingPendingIn feed: ChangeFeed) -> [ChannelRecord]? {
        let copied = state.withLock { state -> [(ChannelVersion, [ChannelVersion])]? in
            if let index = state.feeds.firstIndex(where: { $0.feed.id == feed.id }), state.feeds[index].hasPending {
                return nil
            }
            return state.latest.indices.compactMap { id in
                state.latest[id].map { ($0, state.history[id].versions) }
            }
        }
        guard let copied else { return nil }
        return copied.map { latest, history in
            var entries = history.map {
                ChannelRecord.Entry(version: $0.version, timestamp: $0.timestamp, value: $0.value)
            }
            if entries.last?.version != latest.version {
                entries.append(.init(version: latest.version, timestamp: latest.timestamp, value: latest.value))
            }
            return ChannelRecord(path: latest.path, versions: entries)
        }
    }

    /// The table `init` starts from: one channel per record, in record order, with as many of its
    /// versions in the history as `depth(path)` allows. Entries whose version does not increase
    /// are skipped, and the history keeps only the consecutive run ending at the latest version
    /// (resume replays from it without gaps); records without entries and repeated paths are
    /// ignored.
    static func restoredState(_ records: [ChannelRecord], depth: (ChannelPath) -> Int) -> State {
        var state = State()
        for record in records where !record.versions.isEmpty && state.ids[record.path] == nil {
            let id = state.latest.count
            state.ids[record.path] = id
            var pathJSON: [UInt8] = []
            JSONValue.encodeString(record.path.string, into: &pathJSON)
            state.pathJSON.append(pathJSON)
            var history = VersionHistory(capacity: depth(record.path))
            var latest: ChannelVersion?
            for entry in record.versions where entry.version > (latest?.version ?? 0) {
                if let latest, entry.version != latest.version + 1 {
                    history = VersionHistory(capacity: history.capacity)
                }
                let version = ChannelVersion(
                    channelID: id,
                    path: record.path,
                    pathJSON: pathJSON,
                    version: entry.version,
                    timestamp: entry.timestamp,
                    value: entry.value,
                    valueJSON: entry.value.jsonBytes
                )
                history.append(version)
                latest = version
            }
            state.latest.append(latest)
            state.history.append(history)
        }
        return state
    }
}
