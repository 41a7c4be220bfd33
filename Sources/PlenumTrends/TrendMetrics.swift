import CoreMetrics

/// What the trend store reports on `/metrics` (all prefixed `plenum_trends_`).
struct TrendMetrics: Sendable {
    /// 1 while the store can write, 0 when it failed.
    let up: Gauge
    let samplesWritten: Counter
    let versionsMissed: Counter
    let rawSamplesDropped: Counter
    let minutesDropped: Counter
    let writeErrors: Counter
    let rowsExpired: Counter
    let pendingBytes: Gauge
    let commitDuration: Timer
    let queryDuration: Timer
    let queriesRefused: Counter

    init(factory: any MetricsFactory) {
        up = Gauge(label: "plenum_trends_up", dimensions: [], factory: factory)
        samplesWritten = Counter(label: "plenum_trends_samples_written_total", dimensions: [], factory: factory)
        versionsMissed = Counter(label: "plenum_trends_versions_missed_total", dimensions: [], factory: factory)
        rawSamplesDropped = Counter(
            label: "plenum_trends_dropped_total",
            dimensions: [("kind", "raw_samples")],
            factory: factory
        )
        minutesDropped = Counter(
            label: "plenum_trends_dropped_total",
            dimensions: [("kind", "minutes")],
            factory: factory
        )
        writeErrors = Counter(label: "plenum_trends_write_errors_total", dimensions: [], factory: factory)
        rowsExpired = Counter(label: "plenum_trends_rows_expired_total", dimensions: [], factory: factory)
        pendingBytes = Gauge(label: "plenum_trends_pending_bytes", dimensions: [], factory: factory)
        commitDuration = Timer(label: "plenum_trends_commit_duration_seconds", dimensions: [], factory: factory)
        queryDuration = Timer(label: "plenum_trends_query_duration_seconds", dimensions: [], factory: factory)
        queriesRefused = Counter(label: "plenum_trends_queries_refused_total", dimensions: [], factory: factory)
    }
}
