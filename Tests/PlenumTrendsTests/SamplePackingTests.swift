import Testing

@testable import PlenumTrends

/// Raw samples packed per channel-minute: exact on the way back, a few bytes each.
@Suite struct SamplePackingTests {
    private let minute: Int64 = 29_000_000 * 60_000_000

    @Test func everyValueReadsBackExactlyWithItsTimestamp() {
        let values: [TrendNumber] = [
            .double(6.52), .double(6.49), .double(6.49), .integer(42), .integer(-7), .integer(.max), .integer(.min),
            .double(1.0 / 3.0), .double(-1e-300), .double(1e300), .double(0.1), .double(21.5), .integer(0),
            .double(123_456.789), .double(-0.25),
        ]
        var packer = SamplePacker(minuteStart: minute)
        var expected: [(Int64, TrendNumber)] = []
        var ts = minute + 17
        for (i, value) in values.enumerated() {
            ts += Int64(1_000_000 + (i % 3) * 137 - 200)
            packer.append(timestamp: ts, value)
            expected.append((ts, value))
        }
        let unpacked = SampleUnpacker.unpack(packer.bytes, minuteStart: minute)
        #expect(!unpacked.damaged)
        #expect(unpacked.samples.map(\.timestamp) == expected.map(\.0))
        #expect(unpacked.samples.map(\.value) == expected.map(\.1))
    }

    @Test func aSteadyOneHertzTemperatureTakesAboutFiveBytesASample() {
        var packer = SamplePacker(minuteStart: minute)
        var value = 6.5
        for second in 0..<60 {
            value += second % 2 == 0 ? 0.03 : -0.02
            let rounded = (value * 100).rounded() / 100
            packer.append(timestamp: minute + Int64(second) * 1_000_000 + Int64(second % 5) * 300, .double(rounded))
        }
        #expect(packer.count == 60)
        #expect(packer.bytes.count <= 60 * 6)
        #expect(SampleUnpacker.unpack(packer.bytes, minuteStart: minute).samples.count == 60)
    }

    @Test func segmentsJoinedByARestartReadBackInOrder() {
        var first = SamplePacker(minuteStart: minute)
        first.append(timestamp: minute + 1_000, .integer(1))
        first.append(timestamp: minute + 2_000, .integer(2))
        var second = SamplePacker(minuteStart: minute)
        second.append(timestamp: minute + 30_000_000, .double(2.5))
        let unpacked = SampleUnpacker.unpack(first.bytes + second.bytes, minuteStart: minute)
        #expect(!unpacked.damaged)
        #expect(unpacked.samples.map(\.timestamp) == [minute + 1_000, minute + 2_000, minute + 30_000_000])
        #expect(unpacked.samples.map(\.value) == [.integer(1), .integer(2), .double(2.5)])
    }

    @Test func aDamagedRowKeepsTheSamplesBeforeTheDamage() {
        var packer = SamplePacker(minuteStart: minute)
        packer.append(timestamp: minute + 5, .integer(1))
        packer.append(timestamp: minute + 6, .integer(2))
        let cut = SampleUnpacker.unpack(Array(packer.bytes.dropLast()), minuteStart: minute)
        #expect(cut.damaged && cut.samples.count == 1)
        let garbage = SampleUnpacker.unpack([0xFF, 0x01, 0x02], minuteStart: minute)
        #expect(garbage.damaged && garbage.samples.isEmpty)
        #expect(SampleUnpacker.unpack([], minuteStart: minute).samples.isEmpty)
    }

    @Test func booleansAreOneAndZeroAndStringsAreNotTrended() {
        #expect(TrendNumber(.bool(true)) == .integer(1))
        #expect(TrendNumber(.bool(false)) == .integer(0))
        #expect(TrendNumber(.string("running")) == nil)
        #expect(TrendNumber(.object([:])) == nil)
        #expect(TrendNumber(.double(.nan)) == nil)
        #expect(TrendNumber(.double(6.5)) == .double(6.5))
    }
}
