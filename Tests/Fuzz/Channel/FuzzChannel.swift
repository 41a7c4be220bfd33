import PlenumCore
import PlenumFuzzSupport

/// Fuzz target: channel paths and patterns, as clients send them in URLs and subscribe messages
/// and scripts pass them to `hub.publish`. The input is split at its first newline into a path
/// candidate and a pattern candidate; the properties below must hold for any text.
@main enum FuzzChannel {
    static func main() { FuzzDriver.main() }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChannel(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
    let first = String(decoding: bytes[..<newline], as: UTF8.self)
    let second = newline < bytes.endIndex ? String(decoding: bytes[(newline + 1)...], as: UTF8.self) : first

    let path = try? ChannelPath(first)
    let pattern = try? ChannelPattern(second)
    if let path {
        invariant(path.string == first, "a path changed its text")
        invariant(path.string.utf8.count <= ChannelPath.maxLength, "a path longer than the limit")
        invariant((try? ChannelPath(path.string)) == path, "a valid path did not parse again")
        // Every valid path is a valid exact pattern that matches it, and only it.
        guard let exact = try? ChannelPattern(path.string) else {
            invariant(false, "a valid path is not a valid pattern: \(path)")
            return 0
        }
        invariant(exact.isExact && exact.matches(path), "a path's own pattern does not match it: \(path)")
        // `**` after any prefix of the path matches it.
        let segments = path.string.split(separator: "/")
        for cut in 0..<segments.count {
            let prefix = segments.prefix(cut).map { "/" + $0 }.joined()
            if let all = try? ChannelPattern(prefix + "/**") {
                invariant(all.matches(path), "\(all) does not match \(path)")
            }
        }
        _ = try? path.resolving(second)
    }
    if let pattern {
        invariant(pattern.string == second, "a pattern changed its text")
        if pattern.isExact {
            let asPath = try? ChannelPath(second)
            invariant(asPath != nil, "an exact pattern is not a valid path: \(second)")
            if let asPath, let path {
                invariant(pattern.matches(path) == (asPath == path), "exact pattern \(pattern) vs \(path)")
            }
        }
        if let path, pattern.matches(path) {
            // A match never crosses the segment count: without `**`, counts are equal.
            let patternSegments = pattern.string.split(separator: "/")
            let pathSegments = path.string.split(separator: "/")
            if patternSegments.last != "**" {
                invariant(patternSegments.count == pathSegments.count, "\(pattern) matched \(path)")
            } else {
                invariant(pathSegments.count >= patternSegments.count - 1, "\(pattern) matched \(path)")
            }
        }
    }
    return 0
}
