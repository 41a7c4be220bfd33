import PlenumCore

/// Answers history queries from its own connection (WAL lets it read while the writer writes),
/// adding what `TrendBuffer` holds that its snapshot of the database lacks. Used only on the
/// query thread.
final class TrendReader {
    private let connection: SQLiteConnection
    private let findChannel: SQLiteStatement
    private let classes: SQLiteStatement
    private let generation: SQLiteStatement
    private var statements: [String: SQLiteStatement] = [:]

    init(path: String) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path, create: false)
        connection.setBusyTimeout(milliseconds: 2_000)
        try connection.execute("PRAGMA query_only=1")
        // Queries of one channel touch one page per minute spread over the file: map the file
        // (SQLite caps this at 2 GiB and falls back to reads beyond) and keep a larger cache.
        try connection.execute("PRAGMA mmap_size=2147418112")
        try connection.execute("PRAGMA cache_size=-8192")
        findChannel = try connection.prepare("SELECT id FROM channels WHERE path = ?1")
        classes = try connection.prepare("SELECT keep FROM retention WHERE tbl = ?1 ORDER BY keep")
        generation = try connection.prepare("SELECT value FROM meta WHERE key = 'write_gen'")
    }

    /// What is known of one channel besides the database: its id in the channel store (nil when
    /// the store does not have it, e.g. after a restart before it is published again) and its
    /// retention.
    struct Context {
        var buffer: TrendBuffer
        var storeID: Int?
        var policy: TrendPolicy
        var maxPoints: Int
        var now: Int64
    }

    func query(_ query: HistoryQuery, _ context: Context) throws(HistoryError) -> HistoryResult {
        do {
            // One read transaction: the generation and the rows come from the same snapshot.
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            return try answer(query, context)
        } catch let error as HistoryError {
            throw error
        } catch let error as SQLiteError {
            throw HistoryError(.unavailable, "the trend database failed: \(error)")
        } catch {
            throw HistoryError(.unavailable, "\(error)")
        }
    }

    private func answer(_ query: HistoryQuery, _ context: Context) throws -> HistoryResult {
        let span = query.to - query.from
        var step = query.step
        if step == .auto {
            let rawFrom = context.now - context.policy.rawMinutes * TrendBuffer.minuteMicros
            step = HistoryStep.resolve(span: span, rawAvailable: context.policy.rawMinutes > 0 && query.from >= rawFrom)
        }
        try Self.checkBuckets(query, step, context.maxPoints)
        generation.reset()
        let written = try generation.step() ? generation.integer(0) : 0
        generation.reset()
        findChannel.bind(1, query.channel.string)
        let channel = try findChannel.step() ? findChannel.integer(0) : nil
        findChannel.reset()
        let buffered = context.storeID.map { context.buffer.buckets(of: $0, after: written) } ?? []
        if channel == nil && buffered.isEmpty {
            throw HistoryError(
                .unknownChannel,
                "no history for \(query.channel): nothing numeric was stored for it (strings and objects are not trended)"
            )
        }
        let firstMinute = TrendBuffer.minute(of: query.from)
        let lastMinute = TrendBuffer.minute(of: query.to - 1)
        if step == .raw {
            var samples: [HistorySample] = []
            var tooMany = false
            if let channel {
                try forEachRow("raw", channel, firstMinute, lastMinute, columns: "samples") { row, minute in
                    let unpacked = SampleUnpacker.unpack(row.blob(0), minuteStart: minute * TrendBuffer.minuteMicros)
                    for sample in unpacked.samples where sample.timestamp >= query.from && sample.timestamp < query.to {
                        samples.append(HistorySample(timestamp: sample.timestamp, value: sample.value.jsonValue))
                    }
                    tooMany = samples.count > context.maxPoints
                    return !tooMany
                }
            }
            for bucket in buffered where !tooMany && bucket.minute >= firstMinute && bucket.minute <= lastMinute {
                guard let raw = bucket.raw else { continue }
                for sample in SampleUnpacker.unpack(raw.bytes, minuteStart: bucket.minute * TrendBuffer.minuteMicros)
                    .samples where sample.timestamp >= query.from && sample.timestamp < query.to
                {
                    samples.append(HistorySample(timestamp: sample.timestamp, value: sample.value.jsonValue))
                }
                tooMany = samples.count > context.maxPoints
            }
            if !tooMany {
                let ordered = samples.enumerated().sorted {
                    ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset)
                }.map(\.element)
                return HistoryResult(
                    channel: query.channel,
                    from: query.from,
                    to: query.to,
                    step: .raw,
                    points: .raw(ordered)
                )
            }
            if query.step == .raw {
                throw HistoryError(
                    .tooManyPoints,
                    "more than \(context.maxPoints) raw samples between from and to; use a shorter range or a step such as 1m"
                )
            }
            step = HistoryStep.resolve(span: span, rawAvailable: false)
        }
        guard case .seconds(let seconds) = step else { throw HistoryError(.badRequest, "no step") }
        let stepMicros = Int64(seconds) * 1_000_000
        try Self.checkBuckets(query, step, context.maxPoints)
        // Minutes from the database (in order within each retention class), then the buffer's.
        var minutes: [(minute: Int64, aggregate: MinuteAggregate)] = []
        minutes.reserveCapacity(Int(min(lastMinute - firstMinute + 1, 100_000)))
        if let channel {
            try forEachRow("minutes", channel, firstMinute, lastMinute, columns: "count, min, max, sum, last") {
                row,
                minute in
                let aggregate = MinuteAggregate(
                    count: row.integer(0),
                    min: row.double(1),
                    max: row.double(2),
                    sum: row.double(3),
                    last: row.double(4)
                )
                minutes.append((minute, aggregate))
                return true
            }
        }
        for bucket in buffered where bucket.minute >= firstMinute && bucket.minute <= lastMinute {
            minutes.append((bucket.minute, bucket.aggregate))
        }
        if !minutes.indices.dropFirst().allSatisfy({ minutes[$0 - 1].minute <= minutes[$0].minute }) {
            // Stable: the database's part of a minute before the buffer's (its `last` is later).
            minutes = minutes.enumerated().sorted { ($0.element.minute, $0.offset) < ($1.element.minute, $1.offset) }
                .map(\.element)
        }
        var points: [HistoryBucket] = []
        var current: (start: Int64, aggregate: MinuteAggregate)?
        for (minute, aggregate) in minutes {
            let start = Self.floor(minute * TrendBuffer.minuteMicros, stepMicros)
            if current?.start == start {
                current?.aggregate.merge(aggregate)
                continue
            }
            if let done = current { points.append(Self.bucket(done.start, done.aggregate)) }
            current = (start, aggregate)
        }
        if let done = current { points.append(Self.bucket(done.start, done.aggregate)) }
        return HistoryResult(
            channel: query.channel,
            from: query.from,
            to: query.to,
            step: step,
            points: .buckets(points)
        )
    }

    /// Calls `body` with each stored row of `channel` in `table` between two minutes (every
    /// retention class, oldest minute first within a class); stops when `body` returns false.
    /// One index lookup per minute, as the time-first key requires, within the minutes the
    /// class holds at all.
    private func forEachRow(
        _ table: String,
        _ channel: Int64,
        _ firstMinute: Int64,
        _ lastMinute: Int64,
        columns: String,
        _ body: (SQLiteStatement, Int64) throws -> Bool
    ) throws {
        classes.bind(1, table)
        var keeps: [Int64] = []
        while try classes.step() { keeps.append(classes.integer(0)) }
        classes.reset()
        for keep in keeps {
            let oldest = try first(
                statement("SELECT minute FROM \(table) WHERE keep = ?1 ORDER BY minute LIMIT 1"),
                keep
            )
            let newest = try first(
                statement("SELECT minute FROM \(table) WHERE keep = ?1 ORDER BY minute DESC LIMIT 1"),
                keep
            )
            guard let oldest, let newest else { continue }
            let from = max(firstMinute, oldest)
            let to = min(lastMinute, newest)
            if from > to { continue }
            let rows = try statement(
                """
                WITH RECURSIVE m(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM m WHERE x < ?2)
                SELECT \(columns), t.minute FROM m JOIN \(table) AS t
                    ON t.keep = ?3 AND t.minute = m.x AND t.channel = ?4
                """
            )
            rows.bind(1, from)
            rows.bind(2, to)
            rows.bind(3, keep)
            rows.bind(4, channel)
            defer { rows.reset() }
            let minuteColumn = Int32(columns.split(separator: ",").count)
            while try rows.step() {
                if try !body(rows, rows.integer(minuteColumn)) { return }
            }
        }
    }

    static func bucket(_ start: Int64, _ a: MinuteAggregate) -> HistoryBucket {
        HistoryBucket(timestamp: start, count: a.count, min: a.min, max: a.max, mean: a.mean, last: a.last)
    }

    /// Refuses a step that would give more buckets than `maxPoints` (before reading anything).
    static func checkBuckets(_ query: HistoryQuery, _ step: HistoryStep, _ maxPoints: Int) throws(HistoryError) {
        guard case .seconds(let seconds) = step else { return }
        let stepMicros = Int64(seconds) * 1_000_000
        let buckets = (query.to - 1 - floor(query.from, stepMicros)) / stepMicros + 1
        guard buckets <= Int64(maxPoints) else {
            throw HistoryError(
                .tooManyPoints,
                "step=\(step) gives \(buckets) buckets between from and to, more than \(maxPoints); use a larger step or a shorter range"
            )
        }
    }

    /// The prepared statement for `sql`, prepared once per connection.
    private func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let prepared = statements[sql] { return prepared }
        let prepared = try connection.prepare(sql)
        statements[sql] = prepared
        return prepared
    }

    /// The first column of the first row of `statement` with `value` bound to ?1.
    private func first(_ statement: SQLiteStatement, _ value: Int64) throws(SQLiteError) -> Int64? {
        defer { statement.reset() }
        statement.bind(1, value)
        return try statement.step() ? statement.integer(0) : nil
    }

    static func floor(_ value: Int64, _ step: Int64) -> Int64 {
        value >= 0 ? value / step * step : ((value + 1) / step - 1) * step
    }
}

@available(*, unavailable)
extension TrendReader: Sendable {}
