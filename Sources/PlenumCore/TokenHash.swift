/// The stored form of an access token: `sha256:<64 hex digits>` in hub.yaml, never the token.
public struct TokenHash: Sendable, Hashable, CustomStringConvertible {
    /// Why a text is not a token hash.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownScheme(String)
        case badDigest

        public var description: String {
            switch self {
            case .unknownScheme(let text):
                "'\(text)' is not a token hash; expected sha256:<64 hex digits> (plenum token new NAME prints one)"
            case .badDigest: "a sha256: hash has exactly 64 hexadecimal digits after 'sha256:'"
            }
        }
    }

    /// The 32 bytes of the SHA-256 digest.
    public let digest: [UInt8]

    /// Parses `sha256:<hex>` (upper or lower case digits).
    public init(_ text: String) throws(Problem) {
        guard text.hasPrefix("sha256:") else { throw .unknownScheme(text) }
        let hex = Array(text.utf8.dropFirst("sha256:".utf8.count))
        guard hex.count == 64 else { throw .badDigest }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.hexValue(hex[index]), let low = Self.hexValue(hex[index + 1]) else {
                throw .badDigest
            }
            digest.append(high << 4 | low)
        }
        self.digest = digest
    }

    /// The hash of `token` (its UTF-8 bytes).
    public init(hashing token: String) {
        digest = SHA256.hash(Array(token.utf8))
    }

    public var description: String { "sha256:" + SHA256.hex(digest) }

    /// Compares every byte whatever the first difference: how long it takes says nothing about
    /// where two digests differ.
    public func constantTimeEquals(_ other: TokenHash) -> Bool {
        guard digest.count == other.digest.count else { return false }
        var difference: UInt8 = 0
        for index in digest.indices { difference |= digest[index] ^ other.digest[index] }
        return difference == 0
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
