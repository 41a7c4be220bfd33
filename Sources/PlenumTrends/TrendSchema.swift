/// The database layout, chosen for the write rate of a plant (thousands of channels, each
/// publishing about once a second), on flash.
///
/// Rows are keyed time-first — `(keep, minute, channel)` — so the rows of one minute are
/// written next to each other at the end of the B-tree: a minute of 10,000 channels dirties
/// about as many pages as its bytes fill, instead of one page per channel (which a
/// channel-first key, or a row per sample, would cost). A query for one channel looks its
/// minutes up one by one (1,440 lookups for a day). `keep` is the retention the row was written
/// with, in minutes: expiring is a range delete at the start of each `keep`, and a row keeps
/// the retention it was written with when the configuration changes.
///
/// - `minutes`: one row per channel per minute with count, min, max, sum (mean = sum/count)
///   and the last value.
/// - `raw`: one row per channel per minute with every sample packed (`SamplePacker`).
/// - `channels`: path ↔ small integer id. `retention`: the `keep` values in use per table.
/// - `state`: the channel store saved at the last clean stop; `meta`: `epoch`, `clean` (1 from
///   a clean stop until the next start takes it), `write_gen` (see `TrendBuffer`).
enum TrendSchema {
    static let version: Int64 = 1

    static let create = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS channels(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
        CREATE TABLE IF NOT EXISTS retention(tbl TEXT NOT NULL, keep INTEGER NOT NULL, PRIMARY KEY(tbl, keep))
            WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS minutes(
            keep INTEGER NOT NULL, minute INTEGER NOT NULL, channel INTEGER NOT NULL,
            count INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, last REAL NOT NULL,
            PRIMARY KEY(keep, minute, channel)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS raw(
            keep INTEGER NOT NULL, minute INTEGER NOT NULL, channel INTEGER NOT NULL, samples BLOB NOT NULL,
            PRIMARY KEY(keep, minute, channel)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS state(path TEXT PRIMARY KEY, versions BLOB NOT NULL) WITHOUT ROWID;
        """

    /// Opens `path` for writing: WAL, `synchronous=NORMAL`, the tables. Fails with the SQLite
    /// error for a file that is not a database, a directory that cannot be written, or a
    /// database written by a newer Plenum.
    static func openForWriting(path: String) throws(SQLiteError) -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path)
        connection.setBusyTimeout(milliseconds: 2_000)
        let mode = try connection.prepare("PRAGMA journal_mode=WAL")
        let journal = try mode.step() ? mode.text(0).lowercased() : ""
        mode.reset()
        guard journal == "wal" else {
            throw SQLiteError("PRAGMA journal_mode=WAL on \(path)", code: 1, message: "the database refused WAL mode")
        }
        try connection.execute("PRAGMA synchronous=NORMAL")
        let version = try connection.integer("PRAGMA user_version") ?? 0
        if version > Self.version {
            throw SQLiteError(
                "open \(path)",
                code: 1,
                message:
                    "the database has layout \(version), written by a newer Plenum (this one reads \(Self.version))"
            )
        }
        try connection.transaction { () throws(SQLiteError) in
            try connection.execute(create)
            try connection.execute("PRAGMA user_version=\(Self.version)")
        }
        return connection
    }
}
