/// Why bytes did not decode as BACnet/IP. Every decoder in this module throws only this: a
/// malformed, truncated or unsupported datagram is an error value, never a trap.
public enum BACnetDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended inside `what`.
    case truncated(String)
    /// The bytes break the encoding rules (wrong tag, bad length, value out of range, …).
    case malformed(String)
    /// Well-formed but outside what Plenum handles (another character set, segmentation, …).
    case unsupported(String)

    public var description: String {
        switch self {
        case .truncated(let what): "truncated BACnet packet: \(what)"
        case .malformed(let what): "malformed BACnet packet: \(what)"
        case .unsupported(let what): "unsupported BACnet content: \(what)"
        }
    }
}
