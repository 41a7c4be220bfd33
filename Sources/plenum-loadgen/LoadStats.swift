/// What one receiver thread's connections observed.
struct LoadStats {
    var histogram = LatencyHistogram()
    var messages = 0
    var bytes = 0
    var skipped: UInt64 = 0
    var connected = 0
    var closed = 0
    var errors: [String] = []
    /// Per-second windows since the start, indexed by second.
    var timeline: [LatencyHistogram] = []

    mutating func record(_ latency: Int64, second: Int) {
        guard second >= 0, second < 3_600 else { return }
        while timeline.count <= second { timeline.append(LatencyHistogram()) }
        timeline[second].record(latency)
    }

    /// Adds another thread's observations to these.
    mutating func merge(_ other: LoadStats) {
        messages += other.messages
        bytes += other.bytes
        skipped += other.skipped
        connected += other.connected
        closed += other.closed
        histogram.merge(other.histogram)
        for (second, h) in other.timeline.enumerated() {
            if timeline.count <= second { timeline.append(LatencyHistogram()) }
            timeline[second].merge(h)
        }
        errors += other.errors
    }
}
