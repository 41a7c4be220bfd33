/// The last `capacity` versions of one channel: a ring, so recording a version is one store
/// (no shifting) on the publish path.
struct VersionHistory {
    private var slots: [ChannelVersion?]
    private var next = 0
    private(set) var count = 0

    init(capacity: Int) { slots = Array(repeating: nil, count: capacity) }

    var capacity: Int { slots.count }

    mutating func append(_ version: ChannelVersion) {
        guard !slots.isEmpty else { return }
        slots[next] = version
        next = next + 1 == slots.count ? 0 : next + 1
        if count < slots.count { count += 1 }
    }

    /// Oldest first.
    var versions: [ChannelVersion] {
        let start = (next - count + slots.count) % max(slots.count, 1)
        return (0..<count).compactMap { slots[(start + $0) % slots.count] }
    }

    /// The held versions newer than `version`, oldest first (walks back from the newest only as
    /// far as needed).
    func versions(after version: UInt64) -> [ChannelVersion] {
        var newer: [ChannelVersion] = []
        var slot = next
        for _ in 0..<count {
            slot = slot == 0 ? slots.count - 1 : slot - 1
            guard let entry = slots[slot], entry.version > version else { break }
            newer.append(entry)
        }
        return newer.reversed()
    }
}
