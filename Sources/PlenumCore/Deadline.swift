#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time on the monotonic clock (`CLOCK_MONOTONIC`), or never.
///
/// Every blocking wait in the hub (script sleeps and waits, serial and field-bus timeouts,
/// restart backoff) takes one of these, so a step of the gateway's wall clock neither stretches
/// nor cuts it. Durations from scripts and configuration enter through `init(seconds:)`, which
/// validates them once: NaN and negative durations are refused, +∞ and anything longer than
/// `maxSeconds` mean "no limit", and nothing is converted to an integer without a range check.
public struct Deadline: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Why a duration was refused.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notANumber
        case negative(Double)

        public var description: String {
            switch self {
            case .notANumber: "the duration is NaN; expected a number of seconds (math.huge for no limit)"
            case .negative(let value): "the duration \(value) is negative; expected 0 or more seconds"
            }
        }
    }

    /// Durations longer than this (about 100 years) are treated as "no limit".
    public static let maxSeconds: Double = 3_153_600_000

    /// Monotonic nanoseconds; `UInt64.max` is `never`.
    public let uptimeNanoseconds: UInt64

    public init(uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }

    /// A deadline that never passes.
    public static let never = Deadline(uptimeNanoseconds: .max)

    public static func now() -> Deadline { Deadline(uptimeNanoseconds: monotonicNanoseconds()) }

    /// `seconds` from now. Throws for NaN or a negative duration; +∞ and durations beyond
    /// `maxSeconds` give `never`; the sum saturates instead of overflowing.
    public init(seconds: Double) throws(Problem) {
        self = try Deadline.now().adding(seconds: seconds)
    }

    /// This deadline moved `seconds` later (same validation as `init(seconds:)`).
    public func adding(seconds: Double) throws(Problem) -> Deadline {
        if seconds.isNaN { throw .notANumber }
        if seconds < 0 { throw .negative(seconds) }
        if seconds > Self.maxSeconds || isNever { return .never }
        let (sum, overflow) = uptimeNanoseconds.addingReportingOverflow(UInt64(seconds * 1e9))
        return overflow || sum == .max ? .never : Deadline(uptimeNanoseconds: sum)
    }

    /// This deadline moved `nanoseconds` later, saturating at `never`.
    public func adding(nanoseconds: UInt64) -> Deadline {
        let (sum, overflow) = uptimeNanoseconds.addingReportingOverflow(nanoseconds)
        return overflow ? .never : Deadline(uptimeNanoseconds: sum)
    }

    public var isNever: Bool { uptimeNanoseconds == .max }

    public var hasPassed: Bool { !isNever && Self.monotonicNanoseconds() >= uptimeNanoseconds }

    /// Nanoseconds left (0 once passed; `UInt64.max` for `never`).
    public var remainingNanoseconds: UInt64 {
        if isNever { return .max }
        let now = Self.monotonicNanoseconds()
        return uptimeNanoseconds > now ? uptimeNanoseconds - now : 0
    }

    /// Milliseconds left for `poll(2)`-style timeouts, rounded up and capped at `cap`
    /// (so a caller waits in slices and can notice a stop request between them).
    public func remainingMilliseconds(cappedAt cap: Int32) -> Int32 {
        let remaining = remainingNanoseconds
        if remaining == 0 { return 0 }
        let milliseconds = remaining / 1_000_000 + (remaining % 1_000_000 == 0 ? 0 : 1)
        return milliseconds >= UInt64(cap) ? cap : Int32(milliseconds)
    }

    /// The absolute time for `pthread_cond_timedwait` on a condition variable whose clock is
    /// `CLOCK_MONOTONIC` (see `pthread_condattr_setclock`); nil for `never`.
    public var monotonicTimespec: timespec? {
        if isNever { return nil }
        return timespec(
            tv_sec: Int(uptimeNanoseconds / 1_000_000_000),
            tv_nsec: Int(uptimeNanoseconds % 1_000_000_000)
        )
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.uptimeNanoseconds < rhs.uptimeNanoseconds }

    public var description: String {
        isNever ? "never" : "in \(Double(remainingNanoseconds) / 1e9) s"
    }

    /// `CLOCK_MONOTONIC` in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
