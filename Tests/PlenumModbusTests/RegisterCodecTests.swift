import PlenumModbus
import Testing

/// Known register words for each type and order (computed independently with Python's
/// `struct.pack`, big-endian bytes rearranged per order).
@Suite struct RegisterCodecTests {
    typealias Order = RegisterFormat.ByteOrder

    struct Vector: Sendable, CustomStringConvertible {
        var type: RegisterFormat.ValueType
        var value: RegisterCodec.Value
        var registers: [Order: [UInt16]]
        var description: String { "\(type.rawValue) \(value)" }
    }

    static let vectors: [Vector] = [
        Vector(
            type: .f32,
            value: .double(42.4242),
            registers: [
                .abcd: [0x4229, 0xB261], .cdab: [0xB261, 0x4229], .badc: [0x2942, 0x61B2], .dcba: [0x61B2, 0x2942],
            ]
        ),
        Vector(
            type: .i32,
            value: .integer(-123_456_789),
            registers: [
                .abcd: [0xF8A4, 0x32EB], .cdab: [0x32EB, 0xF8A4], .badc: [0xA4F8, 0xEB32], .dcba: [0xEB32, 0xA4F8],
            ]
        ),
        Vector(
            type: .u32,
            value: .integer(3_000_000_000),
            registers: [
                .abcd: [0xB2D0, 0x5E00], .cdab: [0x5E00, 0xB2D0], .badc: [0xD0B2, 0x005E], .dcba: [0x005E, 0xD0B2],
            ]
        ),
        Vector(
            type: .i16,
            value: .integer(-2),
            registers: [.abcd: [0xFFFE], .cdab: [0xFFFE], .badc: [0xFEFF], .dcba: [0xFEFF]]
        ),
        Vector(
            type: .u16,
            value: .integer(0xBEEF),
            registers: [.abcd: [0xBEEF], .cdab: [0xBEEF], .badc: [0xEFBE], .dcba: [0xEFBE]]
        ),
        Vector(
            type: .u64,
            value: .integer(0x0102_0304_0506_0708),
            registers: [
                .abcd: [0x0102, 0x0304, 0x0506, 0x0708], .cdab: [0x0708, 0x0506, 0x0304, 0x0102],
                .badc: [0x0201, 0x0403, 0x0605, 0x0807], .dcba: [0x0807, 0x0605, 0x0403, 0x0201],
            ]
        ),
        Vector(
            type: .i64,
            value: .integer(-2),
            registers: [
                .abcd: [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], .cdab: [0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF],
                .badc: [0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF], .dcba: [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF],
            ]
        ),
        Vector(
            type: .f64,
            value: .double(-1234.5678),
            registers: [
                .abcd: [0xC093, 0x4A45, 0x6D5C, 0xFAAD], .cdab: [0xFAAD, 0x6D5C, 0x4A45, 0xC093],
                .badc: [0x93C0, 0x454A, 0x5C6D, 0xADFA], .dcba: [0xADFA, 0x5C6D, 0x454A, 0x93C0],
            ]
        ),
    ]

    @Test(arguments: vectors)
    func decodesAndEncodesKnownRegisters(_ vector: Vector) throws {
        for order in Order.allCases {
            let format = RegisterFormat(vector.type, order: order)
            let words = try #require(vector.registers[order])
            #expect(try RegisterCodec.decode(words, as: format) == vector.value, "\(order)")
            #expect(try RegisterCodec.encode(vector.value, as: format) == words, "\(order)")
        }
    }

    /// libmodbus 3.1.6's `modbus_set_float_abcd(42.4242)` gives `2942 61b2`; ours must not.
    @Test func floatsAreNotByteSwappedLikeLibmodbusSetters() throws {
        #expect(try RegisterCodec.encode(.double(42.4242), as: RegisterFormat(.f32)) == [0x4229, 0xB261])
    }

    @Test func f32DecodesToItsShortestDecimalAndScalesDivideCleanly() throws {
        // 6.53 as an f32 is 6.5300002098083496 as a double; clients should see 6.53.
        let words = try RegisterCodec.encode(.double(6.53), as: RegisterFormat(.f32))
        #expect(try RegisterCodec.decode(words, as: RegisterFormat(.f32)) == .double(6.53))
        #expect(try RegisterCodec.decode([453], as: RegisterFormat(.u16, scale: 0.1)) == .double(45.3))
        #expect(try RegisterCodec.decode([453], as: RegisterFormat(.u16, scale: 0.01)) == .double(4.53))
        #expect(try RegisterCodec.decode([453], as: RegisterFormat(.u16, scale: 2.5)) == .double(1_132.5))
    }

    @Test func scaleAndOffsetApplyBothWays() throws {
        // A temperature in tenths of a degree with a -40 °C offset: raw 512 → 11.2 °C.
        let format = RegisterFormat(.i16, scale: 0.1, offset: -40)
        let value = try RegisterCodec.decode([512], as: format)
        #expect(abs(value.doubleValue - 11.2) < 1e-9)
        #expect(try RegisterCodec.encode(.double(11.2), as: format) == [512])
        #expect(try RegisterCodec.encode(.double(-43.2), as: format) == [UInt16(bitPattern: -32)])
    }

    @Test func identityKeepsIntegersAndLargeU64BecomesADouble() throws {
        #expect(try RegisterCodec.decode([0x0001, 0x0000], as: RegisterFormat(.u32)) == .integer(65_536))
        #expect(
            try RegisterCodec.decode([0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF], as: RegisterFormat(.u64))
                == .double(18_446_744_073_709_551_615.0)
        )
    }

    @Test func outOfRangeValuesAreRefusedNamingTheType() {
        #expect(throws: RegisterCodec.Problem.outOfRange(value: "70000", type: .u16)) {
            try RegisterCodec.encode(.integer(70_000), as: RegisterFormat(.u16))
        }
        #expect(throws: RegisterCodec.Problem.outOfRange(value: "-1", type: .u32)) {
            try RegisterCodec.encode(.integer(-1), as: RegisterFormat(.u32))
        }
        #expect(throws: RegisterCodec.Problem.outOfRange(value: "1e+39", type: .f32)) {
            try RegisterCodec.encode(.double(1e39), as: RegisterFormat(.f32))
        }
        #expect(throws: RegisterCodec.Problem.notFinite(.infinity)) {
            try RegisterCodec.encode(.double(.infinity), as: RegisterFormat(.f64))
        }
        #expect(throws: RegisterCodec.Problem.outOfRange(value: "1e+20", type: .i64)) {
            try RegisterCodec.encode(.double(1e20), as: RegisterFormat(.i64))
        }
        #expect(
            RegisterCodec.Problem.outOfRange(value: "70000", type: .u16).description
                == "70000 does not fit a u16 (0…65535)"
        )
    }

    @Test func wrongRegisterCountAndBadScaleAreRefused() {
        #expect(throws: RegisterCodec.Problem.registerCount(expected: 2, got: 1)) {
            try RegisterCodec.decode([1], as: RegisterFormat(.f32))
        }
        #expect(throws: RegisterCodec.Problem.invalidScale(0)) {
            try RegisterCodec.decode([1], as: RegisterFormat(.u16, scale: 0))
        }
    }

    @Test func everyTypeAndOrderRoundTrips() throws {
        for type in RegisterFormat.ValueType.allCases {
            for order in Order.allCases {
                let format = RegisterFormat(type, order: order, scale: 0.5, offset: 3)
                let words = try RegisterCodec.encode(.double(103), as: format)
                #expect(words.count == type.registerCount)
                #expect(try RegisterCodec.decode(words, as: format) == .double(103), "\(type) \(order)")
            }
        }
    }
}
