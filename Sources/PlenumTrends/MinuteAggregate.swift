/// Count, minimum, maximum, sum and last value of a channel's samples over an interval (a
/// minute in the database; any multiple of minutes in a query).
public struct MinuteAggregate: Sendable, Equatable {
    public var count: Int64
    public var min: Double
    public var max: Double
    public var sum: Double
    /// The value of the latest sample.
    public var last: Double

    public init(count: Int64, min: Double, max: Double, sum: Double, last: Double) {
        self.count = count
        self.min = min
        self.max = max
        self.sum = sum
        self.last = last
    }

    init(_ value: Double) { self.init(count: 1, min: value, max: value, sum: value, last: value) }

    public var mean: Double { sum / Double(count) }

    mutating func add(_ value: Double) {
        count += 1
        if value < min { min = value }
        if value > max { max = value }
        sum += value
        last = value
    }

    /// Folds in the aggregate of a later interval (its `last` wins).
    mutating func merge(_ later: MinuteAggregate) {
        count += later.count
        min = Swift.min(min, later.min)
        max = Swift.max(max, later.max)
        sum += later.sum
        last = later.last
    }
}
