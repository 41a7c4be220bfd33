/// An `update` read in one forward pass (the hub writes
/// `{"type":"update","channel":"…","version":N,…}`): channel paths hold no `"` or `\` in the
/// soak's plant.
struct UpdateScan {
    let channel: String
    let version: Int64

    private static let prefix = Array(#"{"type":"update","channel":""#.utf8)
    private static let versionKey = Array(#"","version":"#.utf8)

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > Self.prefix.count, bytes.starts(with: Self.prefix) else { return nil }
        var i = Self.prefix.count
        while i < bytes.count, bytes[i] != 0x22 { i += 1 }
        channel = String(decoding: bytes[Self.prefix.count..<i], as: UTF8.self)
        guard bytes.count > i + Self.versionKey.count,
            bytes[i..<(i + Self.versionKey.count)].elementsEqual(Self.versionKey)
        else { return nil }
        i += Self.versionKey.count
        var value: Int64 = 0
        let start = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            value = value * 10 + Int64(bytes[i] - 0x30)
            i += 1
        }
        guard i > start else { return nil }
        version = value
    }
}
