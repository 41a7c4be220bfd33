import PlenumCore

/// A `ChannelRecord`'s versions as the blob of one `state` row: per version, the version as a
/// varint, the timestamp as a zigzag varint, then the value's JSON text with its length first.
enum ChannelRecordCodec {
    static func encode(_ versions: [ChannelRecord.Entry]) -> [UInt8] {
        var out: [UInt8] = []
        for entry in versions {
            SamplePacker.appendVarint(entry.version, to: &out)
            SamplePacker.appendVarint(SamplePacker.zigzag(entry.timestamp), to: &out)
            let json = entry.value.jsonBytes
            SamplePacker.appendVarint(UInt64(json.count), to: &out)
            out.append(contentsOf: json)
        }
        return out
    }

    /// The versions, or nil when the blob is damaged (the caller then must not reuse the epoch).
    static func decode(_ blob: [UInt8]) -> [ChannelRecord.Entry]? {
        var index = 0
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
        var entries: [ChannelRecord.Entry] = []
        while index < blob.count {
            guard let version = varint(), let zigzagged = varint(), let length = varint(),
                length <= UInt64(blob.count - index)
            else { return nil }
            let end = index + Int(length)
            guard let value = try? JSONParser.parse(Array(blob[index..<end])) else { return nil }
            index = end
            entries.append(.init(version: version, timestamp: SamplePacker.unzigzag(zigzagged), value: value))
        }
        return entries
    }
}
