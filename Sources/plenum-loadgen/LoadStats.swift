import Foundation

/// What one event loop's connections observed. Touched only on that loop until the run ends.
final class LoadStats: @unchecked Sendable {
    // Safe: each instance is written by exactly one event loop; the main thread reads it only
    // after every connection is closed and the loops are idle (see LoadGenerator.run).
    var histogram = LatencyHistogram()
    var messages = 0
    var bytes = 0
    var skipped: UInt64 = 0
    var connected = 0
    var closed = 0
    var errors: [String] = []
    /// Per-second windows since the start, indexed by second.
    var timeline: [LatencyHistogram] = []

    func record(_ latency: Int64, second: Int) {
        guard second >= 0, second < 3_600 else { return }
        while timeline.count <= second { timeline.append(LatencyHistogram()) }
        timeline[second].record(latency)
    }
}
