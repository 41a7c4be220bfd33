/// Whether two patterns can match a common channel: what access control asks of a
/// subscription before any channel exists ("may this token read anything under it at all?").
extension ChannelPattern {
    /// True when some channel path is matched by both `self` and `other`.
    ///
    /// Segment by segment: two literals must be equal, `*` meets any one segment, and a `**` on
    /// either side meets whatever remains of the other (including nothing). Exact, not a guess:
    /// `/plant/*/ahu-1` and `/plant/line1/**` overlap; `/plant/line2/**` and `/plant/line1/**` do not.
    public func overlaps(_ other: ChannelPattern) -> Bool {
        let left = Self.rawSegments(string)
        let right = Self.rawSegments(other.string)
        var index = 0
        while true {
            let l = index < left.count ? left[index] : nil
            let r = index < right.count ? right[index] : nil
            if let l, Self.isDoubleStar(l) { return true }
            if let r, Self.isDoubleStar(r) { return true }
            guard let l, let r else { return l == nil && r == nil }
            if !Self.isStar(l) && !Self.isStar(r) && !l.elementsEqual(r) { return false }
            index += 1
        }
    }

    /// Whether every channel `other` matches is also matched by `self`.
    public func covers(_ other: ChannelPattern) -> Bool {
        let outer = Self.rawSegments(string)
        let inner = Self.rawSegments(other.string)
        for (index, segment) in outer.enumerated() {
            if Self.isDoubleStar(segment) { return true }
            guard index < inner.count, !Self.isDoubleStar(inner[index]) else { return false }
            if Self.isStar(segment) { continue }
            if Self.isStar(inner[index]) || !segment.elementsEqual(inner[index]) { return false }
        }
        return outer.count == inner.count
    }

    private static func rawSegments(_ string: String) -> [ArraySlice<UInt8>] {
        Array(string.utf8).dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
    }

    private static func isStar(_ segment: ArraySlice<UInt8>) -> Bool {
        segment.count == 1 && segment.first == UInt8(ascii: "*")
    }

    private static func isDoubleStar(_ segment: ArraySlice<UInt8>) -> Bool {
        segment.count == 2 && segment.allSatisfy { $0 == UInt8(ascii: "*") }
    }
}
