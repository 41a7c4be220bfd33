import PlenumCore

/// What a request on `/ws…` asks for: `/ws` → no subscription yet, `/ws/plant/**` → `/plant/**`.
///
/// Pure: parsed from the request URI by the upgrader (to accept or refuse the handshake) and by
/// the HTTP handler (to explain a refusal); neither reaches into the server for it.
enum WebSocketTarget: Equatable {
    /// Not a WebSocket path at all (`/api/…`).
    case notWebSocket
    /// `/ws` or `/ws/`: connect without a subscription.
    case none
    case pattern(ChannelPattern)
    /// A `/ws/…` path that names no valid pattern; the text says why.
    case invalid(String)

    init(uri: String) {
        let path = Self.path(of: uri)
        guard path == "/ws" || path.hasPrefix("/ws/") else {
            self = .notWebSocket
            return
        }
        let rest = String(path.dropFirst(3))
        if rest.isEmpty || rest == "/" {
            self = .none
            return
        }
        guard let decoded = Self.percentDecode(rest) else {
            self = .invalid("'\(rest)' has an invalid %-escape")
            return
        }
        do {
            self = .pattern(try ChannelPattern(decoded))
        } catch {
            self = .invalid("'\(decoded)' is not a valid channel path or pattern: \(error)")
        }
    }

    var pattern: ChannelPattern? {
        if case .pattern(let p) = self { return p }
        return nil
    }

    /// Whether a WebSocket may be opened here (a valid pattern, or none).
    var isUpgradable: Bool {
        switch self {
        case .none, .pattern: true
        case .notWebSocket, .invalid: false
        }
    }

    /// The URI without its query.
    static func path(of uri: String) -> String {
        String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// Decodes %XX escapes; nil when an escape is malformed or the result is not UTF-8.
    static func percentDecode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
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
