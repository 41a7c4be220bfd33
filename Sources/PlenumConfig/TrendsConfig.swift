public import PlenumCore

/// `trends:` — the trend store: per-minute aggregates of every numeric channel, raw samples
/// under chosen prefixes, and the channels saved at a clean stop so that clients resume across
/// a restart (docs/configuration.md, "trends").
public struct TrendsConfig: Sendable, Equatable {
    /// Store trends and the channels across restarts. Default false (the shipped hub.yaml turns it
    /// on): writing to the gateway's disk is the operator's choice.
    public var enabled = false
    /// The database file as written in hub.yaml. Default `trends.db`.
    public var path = "trends.db"
    /// `path` resolved against the directory holding hub.yaml.
    public var resolvedPath = "trends.db"
    /// Seconds per-minute aggregates are kept; 0 trends nothing by default. Default 30 days.
    public var aggregateRetentionSeconds = 30 * 86_400
    /// Keep raw samples of every channel. Default false (only under prefixes with `raw: true`).
    public var raw = false
    /// Seconds raw samples are kept. Default 24 hours.
    public var rawRetentionSeconds = 86_400
    /// MiB of closed minutes held while the disk does not take them. Default 64.
    public var maxPendingMB = 64
    /// Most points one history query returns. Default 100,000.
    public var maxQueryPoints = 100_000
    /// Overrides for the channels under a prefix (the longest matching prefix wins).
    public var prefixes: [ChannelPath: TrendsPrefixConfig] = [:]

    public init() {}
}

/// `trends.prefixes.<prefix>:` — what differs for the channels under one prefix.
public struct TrendsPrefixConfig: Sendable, Equatable {
    /// Keep every sample (nil: `trends.raw`).
    public var raw: Bool?
    /// Seconds raw samples are kept (nil: `trends.raw_retention`).
    public var rawRetentionSeconds: Int?
    /// Seconds aggregates are kept; 0: not trended (nil: `trends.aggregate_retention`).
    public var aggregateRetentionSeconds: Int?

    public init(raw: Bool? = nil, rawRetentionSeconds: Int? = nil, aggregateRetentionSeconds: Int? = nil) {
        self.raw = raw
        self.rawRetentionSeconds = rawRetentionSeconds
        self.aggregateRetentionSeconds = aggregateRetentionSeconds
    }
}
