/// Raw samples of one channel in one minute, packed into the blob of one `raw` row.
///
/// A blob is one or more segments (a row written twice in the same minute — after a restart,
/// or when the wall clock stepped back — holds the segments one after the other, joined by
/// SQL `||`). Each segment starts with the byte `0x80` and restarts the delta state; then per
/// sample:
///
/// - a header byte: bits 0–3 the decimal scale `k` (0–9: the value is `m / 10^k` for an integer
///   `m`) or 15 (an IEEE double follows as 8 little-endian bytes); bit 4 set when `m` is stored
///   as a difference from the previous sample's `m` (same `k`); bit 5 set for an integer value;
/// - the timestamp as a zigzag varint: the change of the interval between samples (the first
///   sample's interval is counted from the start of the minute), so a steady 1 Hz source
///   costs one or two bytes;
/// - `m` (or its difference) as a zigzag varint, or the 8 bytes of the double.
///
/// Typical plant readings (a temperature with two decimals, a counter, an on/off state) take
/// 3–6 bytes a sample. Every value reads back exactly as published: a double is stored as
/// `m / 10^k` only when that division gives back the same double.
struct SamplePacker {
    static let segmentStart: UInt8 = 0x80
    static let doubleScale: UInt8 = 15
    static let deltaFlag: UInt8 = 0x10
    static let integerFlag: UInt8 = 0x20

    private(set) var bytes: [UInt8]
    private(set) var count = 0
    private var previousTimestamp: Int64
    private var previousInterval: Int64 = 0
    private var previousScale: UInt8 = 0xFF
    private var previousScaled: Int64 = 0

    /// - Parameter minuteStart: the start of the row's minute, µs since the Unix epoch.
    init(minuteStart: Int64) {
        bytes = [Self.segmentStart]
        previousTimestamp = minuteStart
    }

    mutating func append(timestamp: Int64, _ value: TrendNumber) {
        let interval = timestamp &- previousTimestamp
        let scale: UInt8
        let scaled: Int64
        var header: UInt8
        switch value {
        case .integer(let i):
            (scale, scaled) = (0, i)
            header = Self.integerFlag
        case .double(let d):
            if let decimal = Self.decimal(d) {
                (scale, scaled) = decimal
            } else {
                (scale, scaled) = (Self.doubleScale, Int64(bitPattern: d.bitPattern))
            }
            header = 0
        }
        header |= scale
        let delta = scale != Self.doubleScale && scale == previousScale
        if delta { header |= Self.deltaFlag }
        bytes.append(header)
        Self.appendVarint(Self.zigzag(interval &- previousInterval), to: &bytes)
        if scale == Self.doubleScale {
            withUnsafeBytes(of: UInt64(bitPattern: scaled).littleEndian) { bytes.append(contentsOf: $0) }
        } else {
            Self.appendVarint(Self.zigzag(delta ? scaled &- previousScaled : scaled), to: &bytes)
        }
        previousTimestamp = timestamp
        previousInterval = interval
        previousScale = scale
        previousScaled = scaled
        count += 1
    }

    static let powersOfTen: [Double] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

    /// `(k, m)` with `m / 10^k == d` exactly and |m| < 2^53, for the smallest such `k` ≤ 9.
    static func decimal(_ d: Double) -> (UInt8, Int64)? {
        for (k, power) in powersOfTen.enumerated() {
            let m = (d * power).rounded()
            // Range check before converting: beyond 2^53 the integer would not be exact anyway.
            guard m.magnitude < 9_007_199_254_740_992 else { return nil }
            if m / power == d { return (UInt8(k), Int64(m)) }
        }
        return nil
    }

    static func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }

    static func unzigzag(_ n: UInt64) -> Int64 { Int64(bitPattern: (n >> 1) ^ (0 &- (n & 1))) }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }
}
