/// A subscription pattern: a channel path whose segments may be `*` (exactly one segment)
/// or, as the last segment only, `**` (any number of remaining segments, including zero).
///
/// `/plant/*/chiller-1/supply_temp` matches every line's chiller-1 supply temperature;
/// `/plant/line1/**` matches `/plant/line1` and everything below it.
public struct ChannelPattern: Hashable, Sendable, CustomStringConvertible {
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case path(ChannelPath.Problem)
        case doubleStarNotLast

        public var description: String {
            switch self {
            case .path(let p): p.description
            case .doubleStarNotLast: "'**' may only be the last segment of a pattern"
            }
        }
    }

    private enum Segment: Hashable, Sendable {
        case literal(Substring)
        case any
        case anyRemaining
    }

    public let string: String
    private let segments: [Segment]

    /// True when the pattern has no wildcard, so it names exactly one channel.
    public var isExact: Bool { !segments.contains { if case .literal = $0 { false } else { true } } }

    public init(_ string: String) throws(Problem) {
        let raw: [Substring]
        do {
            raw = try ChannelPath.validateSegments(of: string, allowWildcards: true)
        } catch {
            throw .path(error)
        }
        var segments: [Segment] = []
        segments.reserveCapacity(raw.count)
        for (index, segment) in raw.enumerated() {
            if segment.utf8.elementsEqual("*".utf8) {
                segments.append(.any)
            } else if segment.utf8.elementsEqual("**".utf8) {
                guard index == raw.count - 1 else { throw .doubleStarNotLast }
                segments.append(.anyRemaining)
            } else {
                segments.append(.literal(segment))
            }
        }
        self.string = string
        self.segments = segments
    }

    /// Whether `path` is matched by this pattern.
    public func matches(_ path: ChannelPath) -> Bool {
        let parts = path.string.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .anyRemaining:
                return true
            case .any:
                if index >= parts.count { return false }
            case .literal(let literal):
                if index >= parts.count || !literal.utf8.elementsEqual(parts[index]) { return false }
            }
        }
        return parts.count == segments.count
    }

    public var description: String { string }

    /// Byte for byte, like `ChannelPath` (the segments follow from the text).
    public static func == (lhs: ChannelPattern, rhs: ChannelPattern) -> Bool {
        lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    public func hash(into hasher: inout Hasher) { ChannelPath.hashBytes(of: string, into: &hasher) }
}
