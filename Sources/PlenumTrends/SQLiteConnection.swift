internal import CSQLite

/// A failed SQLite call, as a person reads it: `open /var/lib/plenum/trends.db: file is not a
/// database (SQLITE_NOTADB)`. The one place SQLite result codes become errors.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was attempted: `open /path`, `prepare`, `step`, `exec PRAGMA journal_mode=WAL`.
    public let operation: String
    /// The extended result code (`SQLITE_IOERR_WRITE`, …).
    public let code: Int32
    /// SQLite's own message for the error.
    public let message: String

    init(_ operation: String, code: Int32, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }

    /// The primary code's name (`SQLITE_NOTADB`), from SQLite itself.
    public var codeName: String { "SQLITE_" + String(cString: sqlite3_errstr(code & 0xFF)).uppercased() }

    /// True for errors that say the file itself is bad, not that one write failed.
    public var isCorruption: Bool { [SQLITE_CORRUPT, SQLITE_NOTADB].contains(code & 0xFF) }

    public var description: String { "\(operation): \(message) (code \(code & 0xFF), extended \(code))" }
}

/// One SQLite connection, owned by one thread (the trend writer, or the query thread).
///
/// Not `Sendable`: SQLite connections are opened with `SQLITE_OPEN_NOMUTEX` and must not be
/// used from two threads. Closed in `deinit`, after its statements (which it keeps alive).
final class SQLiteConnection {
    private let handle: OpaquePointer
    let path: String

    /// Opens (and with `create`, creates) the database at `path`.
    init(path: String, readOnly: Bool = false, create: Bool = true) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX
        flags |= readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        var db: OpaquePointer?
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            let code = db.map { sqlite3_extended_errcode($0) } ?? status
            sqlite3_close_v2(db)
            throw SQLiteError("open \(path)", code: code, message: message)
        }
        sqlite3_extended_result_codes(db, 1)
        handle = db
        self.path = path
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows we need.
    func execute(_ sql: String) throws(SQLiteError) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        if status != SQLITE_OK { throw error("exec \(sql.prefix(60))") }
    }

    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw error("prepare \(sql.prefix(60))") }
        return SQLiteStatement(statement, connection: self)
    }

    /// The first column of the first row of `sql`, as an integer (nil when there is no row).
    func integer(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.integer(0) : nil
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// How long a statement waits for another connection's lock before `SQLITE_BUSY`.
    func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    func error(_ operation: String) -> SQLiteError {
        SQLiteError(operation, code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` takes the write lock up front), committing
    /// if it returns and rolling back if it throws.
    func transaction<T>(immediate: Bool = true, _ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

@available(*, unavailable)
extension SQLiteConnection: Sendable {}

/// A prepared statement: bind by 1-based index, `step`, read columns by 0-based index, `reset`.
final class SQLiteStatement {
    private let handle: OpaquePointer
    /// Keeps the connection open for as long as the statement exists.
    private let connection: SQLiteConnection

    fileprivate init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(handle, index, Int64(value)) }
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(handle, index, value) }
    func bind(_ index: Int32, _ value: String) {
        sqlite3_bind_text(handle, index, value, -1, plenum_sqlite_transient())
    }
    func bind(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            // A zero-length blob with a nil pointer would bind NULL; SQLite wants a valid pointer.
            let base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)
            _ = sqlite3_bind_blob(handle, index, base, Int32(buffer.count), plenum_sqlite_transient())
        }
    }

    /// Executes one step: true when a row is available, false when done.
    @discardableResult
    func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = connection.error("step \(String(cString: sqlite3_sql(handle)).prefix(60))")
            sqlite3_reset(handle)
            throw failure
        }
    }

    /// Runs the statement to completion (for INSERT/UPDATE/DELETE), then resets it.
    func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }
    func blob(_ column: Int32) -> [UInt8] {
        // The pointer first, then the size (SQLite's documented order).
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

@available(*, unavailable)
extension SQLiteStatement: Sendable {}
