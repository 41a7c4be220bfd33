public import PlenumCore

extension TrendStore {
    /// Writes per-minute aggregates straight into the database at `configuration.path`, through
    /// the writer's own code (rows, retention classes, generations) — to import history from
    /// elsewhere, and for `plenum-trendbench fill`. Not while a hub has the file open.
    ///
    /// - Parameters:
    ///   - minutes: minutes since the Unix epoch (`µs / 60,000,000`), oldest first.
    ///   - aggregate: the aggregate of channel `index` in `minute`; nil leaves the minute empty.
    /// - Returns: rows written.
    @discardableResult
    public static func backfill(
        _ configuration: TrendStoreConfiguration,
        channels: [ChannelPath],
        minutes: Range<Int64>,
        aggregate: (_ index: Int, _ minute: Int64) -> MinuteAggregate?
    ) throws(SQLiteError) -> Int {
        let database = try TrendDatabase(path: configuration.path)
        var generation = try database.writtenGeneration()
        let policies = channels.map { configuration.policy(for: $0) }
        var rows = 0
        var batch: [TrendBuffer.Bucket] = []
        for minute in minutes {
            for (index, path) in channels.enumerated() where policies[index].isTrended {
                guard let value = aggregate(index, minute) else { continue }
                var policy = policies[index]
                policy.rawMinutes = 0
                batch.append(
                    TrendBuffer.Bucket(
                        channelID: index,
                        path: path,
                        minute: minute,
                        policy: policy,
                        aggregate: value,
                        raw: nil
                    )
                )
            }
            if batch.count >= 50_000 || minute == minutes.upperBound - 1 {
                generation += 1
                try database.write([TrendBuffer.Batch(generation: generation, buckets: batch)])
                rows += batch.count
                batch.removeAll(keepingCapacity: true)
            }
        }
        return rows
    }
}
