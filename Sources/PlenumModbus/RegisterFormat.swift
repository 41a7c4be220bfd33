/// How one value is laid out in 16-bit Modbus registers, and how its raw number becomes an
/// engineering value (`value = raw × scale + offset`).
///
/// Register maps name the four byte orders of a 32-bit value after its bytes A (most
/// significant) … D: `ABCD` is big-endian (the Modbus default, high word first), `CDAB` swaps the
/// words, `BADC` swaps the bytes inside each word, `DCBA` is fully little-endian. For 64-bit
/// values the same names apply to bytes A…H: `CDAB` reverses the four words, `BADC` swaps bytes
/// inside each word, `DCBA` does both. For 16-bit values `CDAB` is `ABCD` and `DCBA` is `BADC`.
public struct RegisterFormat: Sendable, Equatable, CustomStringConvertible {
    public enum ValueType: String, Sendable, CaseIterable {
        case u16, i16, u32, i32, f32, u64, i64, f64

        /// Registers one value occupies: 1, 2 or 4.
        public var registerCount: Int {
            switch self {
            case .u16, .i16: 1
            case .u32, .i32, .f32: 2
            case .u64, .i64, .f64: 4
            }
        }

        public var isFloatingPoint: Bool { self == .f32 || self == .f64 }
    }

    public enum ByteOrder: String, Sendable, CaseIterable {
        case abcd = "ABCD"
        case cdab = "CDAB"
        case badc = "BADC"
        case dcba = "DCBA"

        /// Whether the registers come least significant word first.
        var reversesWords: Bool { self == .cdab || self == .dcba }
        /// Whether the two bytes of each register are swapped.
        var swapsBytes: Bool { self == .badc || self == .dcba }
    }

    public var type: ValueType
    public var order: ByteOrder
    /// Multiplies the raw number; must be finite and not 0.
    public var scale: Double
    /// Added after scaling; must be finite.
    public var offset: Double

    public init(_ type: ValueType, order: ByteOrder = .abcd, scale: Double = 1, offset: Double = 0) {
        self.type = type
        self.order = order
        self.scale = scale
        self.offset = offset
    }

    /// True when the engineering value is the raw number itself.
    public var isIdentity: Bool { scale == 1 && offset == 0 }

    public var description: String {
        var text = "\(type.rawValue) \(order.rawValue)"
        if scale != 1 { text += " scale \(scale)" }
        if offset != 0 { text += " offset \(offset)" }
        return text
    }
}
