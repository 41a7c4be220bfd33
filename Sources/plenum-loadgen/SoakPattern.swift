/// Channel patterns as docs/protocol.md defines them, written here again (not taken from the
/// hub's code) so that the soak checks the hub against the documentation: `*` is one segment,
/// `**` as the last segment any number (also none).
enum SoakPattern {
    static func matches(_ pattern: String, _ path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let c = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if p.last == "**" {
            let prefix = p.dropLast()
            guard c.count >= prefix.count else { return false }
            return zip(prefix, c).allSatisfy { $0 == "*" || $0 == $1 }
        }
        return p.count == c.count && zip(p, c).allSatisfy { $0 == "*" || $0 == $1 }
    }
}
