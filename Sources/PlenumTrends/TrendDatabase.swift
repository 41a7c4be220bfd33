import PlenumCore

/// The writer's side of the database: batches of closed minutes, retention, and the channel
/// store saved at a clean stop. Used only on the writer thread (and, before it starts, by
/// `TrendStore.open` on the starting thread).
final class TrendDatabase {
    /// What a clean stop left for this start.
    struct SavedState {
        var epoch: String
        var channels: [ChannelRecord]
    }

    let connection: SQLiteConnection
    private let insertMinute: SQLiteStatement
    private let insertRaw: SQLiteStatement
    private let findChannel: SQLiteStatement
    private let insertChannel: SQLiteStatement
    private let setMeta: SQLiteStatement
    private var channelIDs: [ChannelPath: Int64] = [:]
    private var classes: Set<String> = []

    init(path: String) throws(SQLiteError) {
        connection = try TrendSchema.openForWriting(path: path)
        insertMinute = try connection.prepare(
            """
            INSERT INTO minutes(keep, minute, channel, count, min, max, sum, last) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            ON CONFLICT(keep, minute, channel) DO UPDATE SET count = count + excluded.count,
                min = min(min, excluded.min), max = max(max, excluded.max), sum = sum + excluded.sum,
                last = excluded.last
            """
        )
        insertRaw = try connection.prepare(
            """
            INSERT INTO raw(keep, minute, channel, samples) VALUES(?1, ?2, ?3, ?4)
            ON CONFLICT(keep, minute, channel) DO UPDATE SET samples = samples || excluded.samples
            """
        )
        findChannel = try connection.prepare("SELECT id FROM channels WHERE path = ?1")
        insertChannel = try connection.prepare("INSERT INTO channels(path) VALUES(?1)")
        setMeta = try connection.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)")
        let known = try connection.prepare("SELECT tbl, keep FROM retention")
        while try known.step() { classes.insert("\(known.text(0)):\(known.integer(1))") }
    }

    /// The highest batch generation stored so far (0 for a new database).
    func writtenGeneration() throws(SQLiteError) -> Int64 {
        try connection.integer("SELECT value FROM meta WHERE key = 'write_gen'") ?? 0
    }

    // MARK: - Start and clean stop

    /// Takes what the last clean stop saved, if the last run stopped cleanly, and marks the
    /// database as in use — durably (`synchronous=FULL` for this one commit), so that a crash
    /// from here on can never be mistaken for a clean stop and its epoch reused. Nil after a
    /// crash, on a new database, or when anything saved cannot be read back.
    func takeSavedState() throws(SQLiteError) -> SavedState? {
        try connection.execute("PRAGMA synchronous=FULL")
        defer { try? connection.execute("PRAGMA synchronous=NORMAL") }
        return try connection.transaction { () throws(SQLiteError) -> SavedState? in
            let clean = try connection.integer("SELECT value FROM meta WHERE key = 'clean'") ?? 0
            var saved: SavedState?
            if clean == 1 {
                let epochStatement = try connection.prepare("SELECT value FROM meta WHERE key = 'epoch'")
                if try epochStatement.step(), !epochStatement.isNull(0) {
                    saved = SavedState(epoch: epochStatement.text(0), channels: [])
                }
                epochStatement.reset()
                let rows = try connection.prepare("SELECT path, versions FROM state")
                while saved != nil, try rows.step() {
                    guard let path = try? ChannelPath(rows.text(0)),
                        let versions = ChannelRecordCodec.decode(rows.blob(1))
                    else {
                        saved = nil
                        rows.reset()
                        break
                    }
                    saved?.channels.append(ChannelRecord(path: path, versions: versions))
                }
            }
            try meta("clean", 0)
            return saved
        }
    }

    /// Saves the channel store and its epoch and marks the stop clean, in one transaction.
    func saveState(epoch: String, channels: [ChannelRecord]) throws(SQLiteError) {
        try connection.transaction { () throws(SQLiteError) in
            try connection.execute("DELETE FROM state")
            let insert = try connection.prepare("INSERT INTO state(path, versions) VALUES(?1, ?2)")
            for record in channels {
                insert.bind(1, record.path.string)
                insert.bind(2, ChannelRecordCodec.encode(record.versions))
                try insert.run()
            }
            try meta("epoch", epoch)
            try meta("clean", 1)
        }
    }

    /// Marks the stop unclean again (something was published after the state was saved).
    func markUnclean() throws(SQLiteError) {
        try connection.transaction { () throws(SQLiteError) in try meta("clean", 0) }
    }

    // MARK: - Writing minutes

    /// Stores `batches` in one transaction and records the highest generation among them.
    /// Returns the number of samples (aggregated and raw) written.
    @discardableResult
    func write(_ batches: [TrendBuffer.Batch]) throws(SQLiteError) -> Int {
        guard let last = batches.last else { return 0 }
        return try connection.transaction { () throws(SQLiteError) -> Int in
            var samples = 0
            for batch in batches {
                for bucket in batch.buckets {
                    let channel = try channelID(bucket.path)
                    try useClass("minutes", bucket.policy.aggregateMinutes)
                    insertMinute.bind(1, bucket.policy.aggregateMinutes)
                    insertMinute.bind(2, bucket.minute)
                    insertMinute.bind(3, channel)
                    insertMinute.bind(4, bucket.aggregate.count)
                    insertMinute.bind(5, bucket.aggregate.min)
                    insertMinute.bind(6, bucket.aggregate.max)
                    insertMinute.bind(7, bucket.aggregate.sum)
                    insertMinute.bind(8, bucket.aggregate.last)
                    try insertMinute.run()
                    samples += Int(bucket.aggregate.count)
                    if let raw = bucket.raw {
                        try useClass("raw", bucket.policy.rawMinutes)
                        insertRaw.bind(1, bucket.policy.rawMinutes)
                        insertRaw.bind(2, bucket.minute)
                        insertRaw.bind(3, channel)
                        insertRaw.bind(4, raw.bytes)
                        try insertRaw.run()
                    }
                }
            }
            try meta("write_gen", last.generation)
            return samples
        }
    }

    private func channelID(_ path: ChannelPath) throws(SQLiteError) -> Int64 {
        if let id = channelIDs[path] { return id }
        findChannel.bind(1, path.string)
        var id: Int64?
        if try findChannel.step() { id = findChannel.integer(0) }
        findChannel.reset()
        if id == nil {
            insertChannel.bind(1, path.string)
            try insertChannel.run()
            findChannel.bind(1, path.string)
            if try findChannel.step() { id = findChannel.integer(0) }
            findChannel.reset()
        }
        guard let id else {
            throw SQLiteError("insert channel \(path)", code: 1, message: "the channel id was not stored")
        }
        channelIDs[path] = id
        return id
    }

    private func useClass(_ table: String, _ keep: Int64) throws(SQLiteError) {
        let key = "\(table):\(keep)"
        if classes.contains(key) { return }
        let insert = try connection.prepare("INSERT OR IGNORE INTO retention(tbl, keep) VALUES(?1, ?2)")
        insert.bind(1, table)
        insert.bind(2, keep)
        try insert.run()
        classes.insert(key)
    }

    private func meta(_ key: String, _ value: Int64) throws(SQLiteError) {
        setMeta.bind(1, key)
        setMeta.bind(2, value)
        try setMeta.run()
    }

    private func meta(_ key: String, _ value: String) throws(SQLiteError) {
        setMeta.bind(1, key)
        setMeta.bind(2, value)
        try setMeta.run()
    }

    // MARK: - Retention

    /// Deletes at most `limit` expired rows (one short transaction); returns how many went.
    /// Called again while it returns `limit`, so a backlog (after a long stop) drains in steps.
    func expire(now: Int64, limit: Int = 5_000) throws(SQLiteError) -> Int {
        let minute = TrendBuffer.minute(of: now)
        let list = try connection.prepare("SELECT tbl, keep FROM retention ORDER BY tbl, keep")
        var expiring: [(String, Int64)] = []
        while try list.step() { expiring.append((list.text(0), list.integer(1))) }
        var deleted = 0
        for (table, keep) in expiring where table == "minutes" || table == "raw" {
            let remaining = limit - deleted
            if remaining <= 0 { break }
            let delete = try connection.prepare(
                """
                DELETE FROM \(table) WHERE (keep, minute, channel) IN
                    (SELECT keep, minute, channel FROM \(table) WHERE keep = ?1 AND minute < ?2 LIMIT ?3)
                """
            )
            delete.bind(1, keep)
            delete.bind(2, minute - keep)
            delete.bind(3, remaining)
            deleted += try connection.transaction { () throws(SQLiteError) -> Int in
                try delete.run()
                return connection.changes
            }
        }
        return deleted
    }
}

@available(*, unavailable)
extension TrendDatabase: Sendable {}
