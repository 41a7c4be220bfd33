/// The history API's vocabulary, shared by whoever serves it (the HTTP server) and whoever
/// stores trends (`PlenumTrends`), so that neither imports the other: the composition root
/// hands the server a `HistorySource`.
///
/// The rules a client sees (parameters, step selection, limits, errors) are in
/// docs/protocol.md, "History"; they are implemented here and in `HistoryRequest`.

/// Answers history queries. Implementations must not block the caller: `reply` is called later,
/// on any thread, exactly once.
public protocol HistorySource: Sendable {
    func history(_ query: HistoryQuery, reply: @escaping @Sendable (Result<HistoryResult, HistoryError>) -> Void)
}

/// One query: a channel, a time range and a step.
public struct HistoryQuery: Sendable, Equatable {
    public var channel: ChannelPath
    /// Start, µs since the Unix epoch, inclusive.
    public var from: Int64
    /// End, µs since the Unix epoch, exclusive.
    public var to: Int64
    public var step: HistoryStep

    public init(channel: ChannelPath, from: Int64, to: Int64, step: HistoryStep = .auto) {
        self.channel = channel
        self.from = from
        self.to = to
        self.step = step
    }
}

/// Raw samples, aggregates over a fixed interval, or the store's choice.
public enum HistoryStep: Sendable, Equatable, CustomStringConvertible {
    /// The store picks raw or a step by the rule in `resolve(span:rawAvailable:)`.
    case auto
    /// Every stored sample.
    case raw
    /// Aggregates (count, min, max, mean, last) over buckets of this many seconds, a multiple of
    /// 60, aligned to multiples of the step since the Unix epoch (UTC).
    case seconds(Int)

    /// The steps `auto` picks from.
    public static let ladder = [60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400]
    /// `auto` answers with raw samples for spans up to this long, when the channel has them.
    public static let rawSpanMicros: Int64 = 3_600_000_000
    /// `auto` picks the smallest step giving at most this many buckets (a day at one minute).
    public static let targetBuckets: Int64 = 1_440

    /// What `auto` means for a range `span` µs long: raw samples when the channel has them
    /// (`rawAvailable`: raw samples are kept for it and the range starts within their
    /// retention) and the span is at most an hour; otherwise the smallest step of `ladder` that
    /// gives at most 1,440 buckets (a day → 1 min, a week → 10 min, 30 days → 30 min), and a
    /// day beyond that.
    public static func resolve(span: Int64, rawAvailable: Bool) -> HistoryStep {
        if rawAvailable && span <= rawSpanMicros { return .raw }
        for step in ladder where (span + Int64(step) * 1_000_000 - 1) / (Int64(step) * 1_000_000) <= targetBuckets {
            return .seconds(step)
        }
        return .seconds(86_400)
    }

    /// `raw`, `auto`, or the step as written back: `1m`, `15m`, `1h`, `1d`.
    public var description: String {
        switch self {
        case .auto: "auto"
        case .raw: "raw"
        case .seconds(let s) where s % 86_400 == 0: "\(s / 86_400)d"
        case .seconds(let s) where s % 3_600 == 0: "\(s / 3_600)h"
        case .seconds(let s) where s % 60 == 0: "\(s / 60)m"
        case .seconds(let s): "\(s)s"
        }
    }
}

/// A stored raw sample.
public struct HistorySample: Sendable, Equatable {
    /// Publish time, µs since the Unix epoch.
    public var timestamp: Int64
    /// A number as published (`true`/`false` are stored as 1/0).
    public var value: JSONValue

    public init(timestamp: Int64, value: JSONValue) {
        self.timestamp = timestamp
        self.value = value
    }
}

/// Aggregates of the samples in one bucket `[timestamp, timestamp + step)`.
public struct HistoryBucket: Sendable, Equatable {
    /// Start of the bucket, µs since the Unix epoch.
    public var timestamp: Int64
    public var count: Int64
    public var min: Double
    public var max: Double
    public var mean: Double
    /// The value of the bucket's latest sample.
    public var last: Double

    public init(timestamp: Int64, count: Int64, min: Double, max: Double, mean: Double, last: Double) {
        self.timestamp = timestamp
        self.count = count
        self.min = min
        self.max = max
        self.mean = mean
        self.last = last
    }
}

/// The answer to a `HistoryQuery`: raw samples or buckets, oldest first; buckets without
/// samples are left out.
public struct HistoryResult: Sendable, Equatable {
    public enum Points: Sendable, Equatable {
        case raw([HistorySample])
        case buckets([HistoryBucket])
    }

    public var channel: ChannelPath
    public var from: Int64
    public var to: Int64
    /// `.raw` or `.seconds(n)`: what was answered (never `.auto`).
    public var step: HistoryStep
    public var points: Points

    public init(channel: ChannelPath, from: Int64, to: Int64, step: HistoryStep, points: Points) {
        self.channel = channel
        self.from = from
        self.to = to
        self.step = step
        self.points = points
    }

    public var count: Int {
        switch points {
        case .raw(let samples): samples.count
        case .buckets(let buckets): buckets.count
        }
    }
}

/// Why a history query has no answer; `code` is what the API reports, with an HTTP status.
public struct HistoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// A parameter is malformed or the range is empty (400).
        case badRequest = "bad_request"
        /// The answer would exceed the point limit (400): a larger step or a shorter range helps.
        case tooManyPoints = "too_many_points"
        /// Nothing was ever trended for the channel (404).
        case unknownChannel = "unknown_channel"
        /// Trends are off in hub.yaml (404).
        case disabled = "trends_disabled"
        /// The trend store failed (503): the message has the database error.
        case unavailable = "trends_unavailable"
        /// Too many queries are waiting (503): retry shortly.
        case busy = "busy"

        public var httpStatus: Int {
            switch self {
            case .badRequest, .tooManyPoints: 400
            case .unknownChannel, .disabled: 404
            case .unavailable, .busy: 503
            }
        }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// `{"error":"…","code":"…"}`
    public var jsonBytes: [UInt8] {
        JSONValue.object(["error": .string(message), "code": .string(code.rawValue)]).jsonBytes
    }
}
