public import PlenumCore

/// What the trend store reports on `/plenum/trends/status`, in `/readyz` and on `/metrics`.
public struct TrendStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Opened; the writer has not written yet.
        case starting
        /// The last write (or the opening) succeeded.
        case running
        /// The database cannot be opened or written: `error` says why. Live data is unaffected.
        case failed
        /// Stopped (the hub is shutting down).
        case stopped
    }

    public var state: State
    /// The database file.
    public var path: String
    /// The SQLite error while `failed`.
    public var error: String?
    /// Numbers stored (each sample counted once, whether kept raw or only aggregated).
    public var samplesWritten: UInt64 = 0
    /// Versions published faster than the writer drained them and already gone from the
    /// channel's history: never seen by the trend store.
    public var versionsMissed: UInt64 = 0
    /// Raw samples dropped because the disk did not take them and the pending memory was full.
    public var rawSamplesDropped: UInt64 = 0
    /// Per-minute aggregates dropped for the same reason (after every raw sample was).
    public var minutesDropped: UInt64 = 0
    /// Bytes of closed minutes waiting for the disk.
    public var pendingBytes = 0
    /// Wall time of the last successful write, µs since the Unix epoch.
    public var lastWrite: Int64?

    public init(state: State, path: String, error: String? = nil) {
        self.state = state
        self.path = path
        self.error = error
    }

    /// `{"state":"failed","path":"…","error":"…","samples_written":…,…}`
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "state": .string(state.rawValue),
            "path": .string(path),
            "samples_written": .integer(Int64(clamping: samplesWritten)),
            "versions_missed": .integer(Int64(clamping: versionsMissed)),
            "raw_samples_dropped": .integer(Int64(clamping: rawSamplesDropped)),
            "minutes_dropped": .integer(Int64(clamping: minutesDropped)),
            "pending_bytes": .integer(Int64(pendingBytes)),
        ]
        if let error { object["error"] = .string(error) }
        if let lastWrite { object["last_write_ts"] = .integer(lastWrite) }
        return .object(object)
    }

    /// The status channel's value: state, path and error only (the counters would make it
    /// change every minute; they are on `/metrics` and in `/readyz`).
    var channelValue: JSONValue {
        var object: [String: JSONValue] = ["state": .string(state.rawValue), "path": .string(path)]
        if let error { object["error"] = .string(error) }
        return .object(object)
    }
}
