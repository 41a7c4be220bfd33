/// A sliding window for `WritableChannel.RateLimit`: at most `count` writes in any window of
/// `seconds`. Holds the times of the last `count` admitted writes, nothing more.
struct RateWindow: Sendable, Equatable {
    let limit: WritableChannel.RateLimit
    private var times: [UInt64] = []
    private var next = 0

    init(_ limit: WritableChannel.RateLimit) { self.limit = limit }

    private var windowNanoseconds: UInt64 {
        limit.seconds >= Double(UInt64.max / 2) / 1e9 ? UInt64.max / 2 : UInt64(max(0, limit.seconds) * 1e9)
    }

    /// Admits a write at `now` (monotonic ns) and remembers it; false when the window is full.
    mutating func admit(at now: UInt64) -> Bool {
        guard limit.count > 0 else { return false }
        if times.count < limit.count {
            times.append(now)
            return true
        }
        let oldest = times[next]
        guard now >= oldest, now - oldest >= windowNanoseconds else { return false }
        times[next] = now
        next = (next + 1) % times.count
        return true
    }

    /// Seconds until the next write would be admitted at `now` (0 when it would be now).
    func secondsUntilFree(at now: UInt64) -> Double {
        guard times.count >= limit.count, limit.count > 0 else { return 0 }
        let free = times[next] &+ windowNanoseconds
        return free > now ? Double(free - now) / 1e9 : 0
    }
}
