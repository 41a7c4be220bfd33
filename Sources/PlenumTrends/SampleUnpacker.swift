/// Reads back what `SamplePacker` wrote (the format is described there).
enum SampleUnpacker {
    /// The samples of one row, in the order they were written. Stops at the first byte that does
    /// not fit the format (a damaged row) and reports it with `damaged`, keeping what came before.
    static func unpack(
        _ blob: [UInt8],
        minuteStart: Int64
    ) -> (samples: [(timestamp: Int64, value: TrendNumber)], damaged: Bool) {
        var samples: [(timestamp: Int64, value: TrendNumber)] = []
        samples.reserveCapacity(blob.count / 4)
        var index = 0
        var timestamp = minuteStart
        var interval: Int64 = 0
        var previousScale: UInt8 = 0xFF
        var previousScaled: Int64 = 0
        var inSegment = false

        func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < blob.count, shift < 64 {
                let byte = blob[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }

        while index < blob.count {
            let header = blob[index]
            index += 1
            if header == SamplePacker.segmentStart {
                (timestamp, interval, previousScale, previousScaled, inSegment) = (minuteStart, 0, 0xFF, 0, true)
                continue
            }
            let scale = header & 0x0F
            let isDelta = header & SamplePacker.deltaFlag != 0
            let isInteger = header & SamplePacker.integerFlag != 0
            guard inSegment, header & 0xC0 == 0, scale <= 9 || scale == SamplePacker.doubleScale,
                !(isDelta && (scale == SamplePacker.doubleScale || scale != previousScale)),
                !(isInteger && scale != 0),
                let change = varint()
            else { return (samples, true) }
            interval = interval &+ SamplePacker.unzigzag(change)
            timestamp = timestamp &+ interval
            let scaled: Int64
            if scale == SamplePacker.doubleScale {
                guard index + 8 <= blob.count else { return (samples, true) }
                var bits: UInt64 = 0
                for offset in 0..<8 { bits |= UInt64(blob[index + offset]) << (8 * UInt64(offset)) }
                index += 8
                scaled = Int64(bitPattern: bits)
                samples.append((timestamp, .double(Double(bitPattern: bits))))
            } else {
                guard let stored = varint() else { return (samples, true) }
                let value = SamplePacker.unzigzag(stored)
                scaled = isDelta ? previousScaled &+ value : value
                let number: TrendNumber =
                    isInteger ? .integer(scaled) : .double(Double(scaled) / SamplePacker.powersOfTen[Int(scale)])
                samples.append((timestamp, number))
            }
            previousScale = scale
            previousScaled = scaled
        }
        return (samples, false)
    }
}
