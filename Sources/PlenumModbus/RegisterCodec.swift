/// Turns register words into numbers and back, for every `RegisterFormat`. Pure: no I/O.
///
/// Floats are encoded here, never with libmodbus: its 3.1.6 float setters (`modbus_set_float_*`,
/// Debian 12) byte-swap each word (`42.4242` comes out `2942 61b2` instead of `4229 b261`).
public enum RegisterCodec {
    /// A decoded register value: integers stay integers while `scale`/`offset` are the identity.
    public enum Value: Sendable, Equatable {
        case integer(Int64)
        case double(Double)

        public var doubleValue: Double {
            switch self {
            case .integer(let i): Double(i)
            case .double(let d): d
            }
        }
    }

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case registerCount(expected: Int, got: Int)
        case invalidScale(Double)
        case invalidOffset(Double)
        case notFinite(Double)
        case outOfRange(value: String, type: RegisterFormat.ValueType)

        public var description: String {
            switch self {
            case .registerCount(let expected, let got):
                "expected \(expected) register\(expected == 1 ? "" : "s"), got \(got)"
            case .invalidScale(let scale): "scale \(scale) must be a finite number other than 0"
            case .invalidOffset(let offset): "offset \(offset) must be a finite number"
            case .notFinite(let value): "\(value) is not a finite number"
            case .outOfRange(let value, let type):
                "\(value) does not fit a \(type.rawValue) (\(Self.range(type)))"
            }
        }

        static func range(_ type: RegisterFormat.ValueType) -> String {
            switch type {
            case .u16: "0…65535"
            case .i16: "-32768…32767"
            case .u32: "0…4294967295"
            case .i32: "-2147483648…2147483647"
            case .u64: "0…18446744073709551615"
            case .i64: "-9223372036854775808…9223372036854775807"
            case .f32: "±3.4e38"
            case .f64: "±1.8e308"
            }
        }
    }

    // MARK: - Decoding

    /// The value held by `registers` (exactly `format.type.registerCount` of them).
    public static func decode(_ registers: some Collection<UInt16>, as format: RegisterFormat) throws(Problem) -> Value
    {
        try validate(format)
        guard registers.count == format.type.registerCount else {
            throw .registerCount(expected: format.type.registerCount, got: registers.count)
        }
        let bits = bigEndianBits(registers, order: format.order)
        let raw: Value
        switch format.type {
        case .u16, .u32: raw = .integer(Int64(bits))
        case .i16: raw = .integer(Int64(Int16(truncatingIfNeeded: bits)))
        case .i32: raw = .integer(Int64(Int32(truncatingIfNeeded: bits)))
        case .i64: raw = .integer(Int64(bitPattern: bits))
        case .u64: raw = bits <= UInt64(Int64.max) ? .integer(Int64(bits)) : .double(Double(bits))
        case .f32: raw = .double(shortestDouble(Float(bitPattern: UInt32(truncatingIfNeeded: bits))))
        case .f64: raw = .double(Double(bitPattern: bits))
        }
        if format.isIdentity { return raw }
        return .double(scaled(raw.doubleValue, format.scale) + format.offset)
    }

    /// An f32 as the double a person would write for it: the shortest decimal that reads back as
    /// the same float (`6.53`, not `6.5300002098083496`). An f32 holds about 7 digits; the
    /// others would be noise in every published value.
    static func shortestDouble(_ value: Float) -> Double {
        guard value.isFinite else { return Double(value) }
        return Double(value.description) ?? Double(value)
    }

    /// `raw × scale`, dividing by the inverse when the scale is 1/n (0.1, 0.01): `453 / 10` is
    /// the double nearest 45.3, while `453 × 0.1` is 45.300000000000004.
    static func scaled(_ raw: Double, _ scale: Double) -> Double {
        let inverse = 1 / scale
        if abs(scale) < 1, inverse.rounded() == inverse || abs(inverse - inverse.rounded()) < 1e-9 * abs(inverse) {
            return raw / inverse.rounded()
        }
        return raw * scale
    }

    /// The registers' bytes, most significant first, as one number.
    static func bigEndianBits(_ registers: some Collection<UInt16>, order: RegisterFormat.ByteOrder) -> UInt64 {
        var bits: UInt64 = 0
        let words = order.reversesWords ? Array(registers.reversed()) : Array(registers)
        for word in words {
            bits = bits << 16 | UInt64(order.swapsBytes ? word.byteSwapped : word)
        }
        return bits
    }

    // MARK: - Encoding

    /// The registers that hold `value` (an engineering value: `raw = (value − offset) / scale`,
    /// rounded to the nearest integer for integer types).
    public static func encode(_ value: Value, as format: RegisterFormat) throws(Problem) -> [UInt16] {
        try validate(format)
        let bits: UInt64
        if case .integer(let integer) = value, format.isIdentity, !format.type.isFloatingPoint {
            bits = try integerBits(integer, format.type)
        } else {
            let number = value.doubleValue
            guard number.isFinite else { throw .notFinite(number) }
            let raw = format.isIdentity ? number : (number - format.offset) / format.scale
            guard raw.isFinite else { throw .notFinite(raw) }
            bits = try doubleBits(raw, format.type)
        }
        return registers(bits, count: format.type.registerCount, order: format.order)
    }

    private static func integerBits(_ value: Int64, _ type: RegisterFormat.ValueType) throws(Problem) -> UInt64 {
        let fits: Bool
        switch type {
        case .u16: fits = (0...Int64(UInt16.max)).contains(value)
        case .i16: fits = (Int64(Int16.min)...Int64(Int16.max)).contains(value)
        case .u32: fits = (0...Int64(UInt32.max)).contains(value)
        case .i32: fits = (Int64(Int32.min)...Int64(Int32.max)).contains(value)
        case .u64: fits = value >= 0
        case .i64, .f32, .f64: fits = true
        }
        guard fits else { throw .outOfRange(value: "\(value)", type: type) }
        return UInt64(bitPattern: value)
    }

    private static func doubleBits(_ raw: Double, _ type: RegisterFormat.ValueType) throws(Problem) -> UInt64 {
        switch type {
        case .f32:
            let single = Float(raw)
            guard single.isFinite else { throw .outOfRange(value: "\(raw)", type: type) }
            return UInt64(single.bitPattern)
        case .f64:
            return raw.bitPattern
        case .u64:
            let rounded = raw.rounded()
            // 2^64 is the first double above UInt64.max.
            guard rounded >= 0, rounded < 18_446_744_073_709_551_616.0 else {
                throw .outOfRange(value: "\(raw)", type: type)
            }
            return UInt64(rounded)
        default:
            let rounded = raw.rounded()
            // Every integer type but u64 fits in Int64; beyond ±2^63 the conversion would trap.
            guard rounded >= -9_223_372_036_854_775_808.0, rounded < 9_223_372_036_854_775_808.0 else {
                throw .outOfRange(value: "\(raw)", type: type)
            }
            return try integerBits(Int64(rounded), type)
        }
    }

    /// `bits` (the value's bytes, most significant first) as `count` registers in `order`.
    static func registers(_ bits: UInt64, count: Int, order: RegisterFormat.ByteOrder) -> [UInt16] {
        var words = (0..<count).map { index in
            UInt16(truncatingIfNeeded: bits >> UInt64(16 * (count - 1 - index)))
        }
        if order.swapsBytes { words = words.map(\.byteSwapped) }
        if order.reversesWords { words.reverse() }
        return words
    }

    private static func validate(_ format: RegisterFormat) throws(Problem) {
        guard format.scale.isFinite, format.scale != 0 else { throw .invalidScale(format.scale) }
        guard format.offset.isFinite else { throw .invalidOffset(format.offset) }
    }
}
