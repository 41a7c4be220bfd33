/// A validated channel address such as `/plant/line1/chiller-1/supply_temp`.
///
/// A path starts with `/`, has at least one segment, no empty segments, no wildcard
/// segments (`*`, `**`) and no whitespace or control characters.
public struct ChannelPath: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// Why a string is not a valid channel path.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case missingLeadingSlash
        case emptySegment
        case wildcardSegment(String)
        case forbiddenCharacter(Unicode.Scalar)
        case tooLong(Int)

        public var description: String {
            switch self {
            case .empty: "the path is empty; expected an absolute path such as /plant/line1/chiller-1"
            case .missingLeadingSlash: "the path must start with '/'"
            case .emptySegment: "the path has an empty segment ('//' or a trailing '/')"
            case .wildcardSegment(let s): "the path has a wildcard segment '\(s)'; wildcards belong in patterns"
            case .forbiddenCharacter(let c):
                "the path contains a forbidden character U+\(String(c.value, radix: 16, uppercase: true)) (whitespace, control characters and '*' are not allowed)"
            case .tooLong(let n): "the path is \(n) bytes long; at most \(ChannelPath.maxLength) are allowed"
            }
        }
    }

    /// The longest accepted path, in UTF-8 bytes.
    public static let maxLength = 1024

    /// The path as text, starting with `/`.
    public let string: String

    public init(_ string: String) throws(Problem) {
        try Self.validateSegments(of: string, allowWildcards: false)
        self.string = string
    }

    /// Checks the syntax shared by paths and patterns; returns the segments.
    @discardableResult
    static func validateSegments(of string: String, allowWildcards: Bool) throws(Problem) -> [Substring] {
        if string.isEmpty { throw .empty }
        if string.utf8.count > maxLength { throw .tooLong(string.utf8.count) }
        guard string.utf8.first == UInt8(ascii: "/") else { throw .missingLeadingSlash }
        for scalar in string.unicodeScalars
        where scalar.properties.isWhitespace || scalar.value < 0x20
            || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
        {
            throw .forbiddenCharacter(scalar)
        }
        // Split on the '/' scalar, not on Characters: a combining mark after a '/' would make
        // "/\u{301}" one Character and hide a separator that byte-wise matching sees (found by
        // fuzzing). Segments are compared byte for byte for the same reason.
        let segments = string.unicodeScalars.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            .map { Substring($0) }
        for segment in segments {
            if segment.isEmpty { throw .emptySegment }
            if segment.utf8.contains(UInt8(ascii: "*")) {
                let wildcard = segment.utf8.elementsEqual("*".utf8) || segment.utf8.elementsEqual("**".utf8)
                if !allowWildcards {
                    if wildcard { throw .wildcardSegment(String(segment)) }
                    throw .forbiddenCharacter("*")
                }
                if !wildcard { throw .forbiddenCharacter("*") }
            }
        }
        return segments
    }

    /// Joins a relative path (`supply_temp`, `pump/speed`) onto this prefix, or validates an absolute one.
    public func resolving(_ relativeOrAbsolute: String) throws(Problem) -> ChannelPath {
        if relativeOrAbsolute.utf8.first == UInt8(ascii: "/") { return try ChannelPath(relativeOrAbsolute) }
        return try ChannelPath(string + "/" + relativeOrAbsolute)
    }

    public var description: String { string }

    /// Byte for byte: two spellings of "é" (precomposed, or "e" and a combining accent) are two
    /// channels, as pattern matching and clients (which compare bytes) see them.
    public static func == (lhs: ChannelPath, rhs: ChannelPath) -> Bool {
        lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    public func hash(into hasher: inout Hasher) { ChannelPath.hashBytes(of: string, into: &hasher) }

    static func hashBytes(of string: String, into hasher: inout Hasher) {
        hasher.combine(string.utf8.count)
        let done: Void? = string.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if done == nil { for byte in string.utf8 { hasher.combine(byte) } }
    }

    /// By UTF-8 bytes (the same order as by scalars; ASCII paths sort as usual).
    public static func < (lhs: ChannelPath, rhs: ChannelPath) -> Bool {
        lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }
}
