import Foundation

/// Latencies in log-spaced buckets (5 % wide), so percentiles cost no sorting and no memory
/// per sample.
struct LatencyHistogram {
    private static let base = 1.05
    private static let bucketCount = 400
    private var buckets = [Int](repeating: 0, count: bucketCount)
    private(set) var count = 0
    private(set) var max: Int64 = 0

    private static func index(_ micros: Int64) -> Int {
        guard micros > 1 else { return 0 }
        return Swift.min(bucketCount - 1, Int((Double(micros)).logarithm / logBase) + 1)
    }

    private static let logBase = base.logarithm

    mutating func record(_ micros: Int64) {
        buckets[Self.index(micros)] += 1
        count += 1
        if micros > max { max = micros }
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in buckets.indices { buckets[i] += other.buckets[i] }
        count += other.count
        max = Swift.max(max, other.max)
    }

    /// The latency (µs) below which `fraction` of the samples fall (upper bucket edge).
    func percentile(_ fraction: Double) -> Double {
        guard count > 0 else { return 0 }
        let target = Int((Double(count) * fraction).rounded(.up))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= target { return i == 0 ? 1 : Swift.min(Double(max), Self.edge(i)) }
        }
        return Double(max)
    }

    private static func edge(_ i: Int) -> Double {
        var value = 1.0
        for _ in 0..<i { value *= base }
        return value
    }
}

extension Double {
    fileprivate var logarithm: Double { Foundation.log(self) }
}
