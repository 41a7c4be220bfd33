public import PlenumCore

/// What the trend store needs to know; `PlenumApp` fills it from hub.yaml's `trends:` section
/// (docs/configuration.md has the defaults and the reasons for them).
public struct TrendStoreConfiguration: Sendable, Equatable {
    /// Retention overrides for the channels under one prefix (nil: the section's default).
    public struct PrefixRule: Sendable, Equatable {
        /// Keep every sample of these channels (not only per-minute aggregates).
        public var raw: Bool?
        /// Seconds raw samples are kept.
        public var rawRetentionSeconds: Int?
        /// Seconds per-minute aggregates are kept; 0: these channels are not trended at all.
        public var aggregateRetentionSeconds: Int?

        public init(raw: Bool? = nil, rawRetentionSeconds: Int? = nil, aggregateRetentionSeconds: Int? = nil) {
            self.raw = raw
            self.rawRetentionSeconds = rawRetentionSeconds
            self.aggregateRetentionSeconds = aggregateRetentionSeconds
        }
    }

    /// The database file (created if missing; `-wal` and `-shm` files live beside it).
    public var path: String
    /// Seconds per-minute aggregates are kept. Default 30 days.
    public var aggregateRetentionSeconds: Int
    /// Keep raw samples of every channel. Default false: only under prefixes with `raw: true`.
    public var raw: Bool
    /// Seconds raw samples are kept. Default 24 hours.
    public var rawRetentionSeconds: Int
    /// Per-prefix overrides; the longest matching prefix wins.
    public var prefixes: [ChannelPath: PrefixRule]
    /// Bytes of closed minutes the writer holds while the disk does not take them; beyond this
    /// the oldest raw samples are dropped first, then the oldest aggregates. Default 64 MiB.
    public var maxPendingBytes: Int
    /// Most points one history query may return. Default 100,000.
    public var maxQueryPoints: Int

    public init(
        path: String,
        aggregateRetentionSeconds: Int = 30 * 86_400,
        raw: Bool = false,
        rawRetentionSeconds: Int = 86_400,
        prefixes: [ChannelPath: PrefixRule] = [:],
        maxPendingBytes: Int = 64 << 20,
        maxQueryPoints: Int = 100_000
    ) {
        self.path = path
        self.aggregateRetentionSeconds = aggregateRetentionSeconds
        self.raw = raw
        self.rawRetentionSeconds = rawRetentionSeconds
        self.prefixes = prefixes
        self.maxPendingBytes = maxPendingBytes
        self.maxQueryPoints = maxQueryPoints
    }

    /// How long each kind of data of `path` is kept, in whole minutes (0: not kept).
    func policy(for path: ChannelPath) -> TrendPolicy {
        var rule = PrefixRule()
        var longest = -1
        for (prefix, candidate) in prefixes
        where prefix.string.utf8.count > longest
            && (path.string == prefix.string || path.string.hasPrefix(prefix.string + "/"))
        {
            rule = candidate
            longest = prefix.string.utf8.count
        }
        let aggregate = rule.aggregateRetentionSeconds ?? aggregateRetentionSeconds
        let raw = (rule.raw ?? self.raw) && aggregate > 0 ? (rule.rawRetentionSeconds ?? rawRetentionSeconds) : 0
        return TrendPolicy(aggregateMinutes: Self.minutes(aggregate), rawMinutes: Self.minutes(raw))
    }

    private static func minutes(_ seconds: Int) -> Int64 { seconds <= 0 ? 0 : Int64((seconds + 59) / 60) }
}

/// How long one channel's aggregates and raw samples are kept, in minutes (0: not kept).
/// Rows carry it in their key (`keep`), so data keeps the retention it was written with.
struct TrendPolicy: Sendable, Equatable {
    var aggregateMinutes: Int64
    var rawMinutes: Int64

    var isTrended: Bool { aggregateMinutes > 0 }
}
