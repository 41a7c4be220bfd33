import PlenumCore

/// `trends:` — see `TrendsConfig`.
extension ConfigDecoder {
    /// Aggregates: off (0) or from an hour to ten years. Raw samples: a minute to a year.
    static let aggregateRetentionRange = 3_600...(3_660 * 86_400)
    static let rawRetentionRange = 60...(366 * 86_400)

    mutating func decodeTrends(_ node: YAMLNode) -> TrendsConfig {
        var trends = TrendsConfig()
        let keys = [
            "enabled", "path", "aggregate_retention", "raw", "raw_retention", "max_pending_mb", "max_query_points",
            "prefixes",
        ]
        guard let map = mapping(node, "trends", keys: keys, what: "'trends'") else { return trends }
        if let n = map["enabled"], let v = boolean(n, "trends.enabled") { trends.enabled = v }
        if let n = map["path"], let v = string(n, "trends.path") {
            if v.isEmpty || v.hasSuffix("/") {
                report(
                    .outOfRange,
                    n,
                    "trends.path",
                    "expected a file name such as trends.db or /var/lib/plenum/trends.db"
                )
            } else {
                trends.path = v
            }
        }
        trends.resolvedPath = trends.path.hasPrefix("/") ? trends.path : baseDirectory + "/" + trends.path
        if let n = map["aggregate_retention"],
            let v = retention(n, "trends.aggregate_retention", Self.aggregateRetentionRange, allowOff: true)
        {
            trends.aggregateRetentionSeconds = v
        }
        if let n = map["raw"], let v = boolean(n, "trends.raw") { trends.raw = v }
        if let n = map["raw_retention"], let v = retention(n, "trends.raw_retention", Self.rawRetentionRange) {
            trends.rawRetentionSeconds = v
        }
        integer(map["max_pending_mb"], "trends.max_pending_mb", 1...4_096, into: &trends.maxPendingMB)
        integer(map["max_query_points"], "trends.max_query_points", 100...10_000_000, into: &trends.maxQueryPoints)
        if let node = map["prefixes"] { trends.prefixes = decodeTrendPrefixes(node) }
        return trends
    }

    private mutating func decodeTrendPrefixes(_ node: YAMLNode) -> [ChannelPath: TrendsPrefixConfig] {
        guard case .mapping(let pairs) = node.kind else {
            report(
                .wrongType,
                node,
                "trends.prefixes",
                "expected a mapping of prefix: settings, found \(node.typeName)"
            )
            return [:]
        }
        var prefixes: [ChannelPath: TrendsPrefixConfig] = [:]
        for (key, value) in pairs {
            guard case .scalar(let text, _) = key.kind else {
                report(.wrongType, key, "trends.prefixes", "prefixes must be strings, found \(key.typeName)")
                continue
            }
            let path = "trends.prefixes.\(text)"
            let prefix: ChannelPath
            do {
                prefix = try ChannelPath(text)
            } catch {
                report(.invalidPath, key, path, "'\(text)' is not a valid channel prefix: \(error)")
                continue
            }
            if prefixes[prefix] != nil {
                report(.duplicateKey, key, path, "duplicate prefix '\(text)'")
                continue
            }
            let keys = ["raw", "raw_retention", "aggregate_retention"]
            guard let map = mapping(value, path, keys: keys, what: "'\(text)'") else { continue }
            var rule = TrendsPrefixConfig()
            if let n = map["raw"] { rule.raw = boolean(n, "\(path).raw") }
            if let n = map["raw_retention"] {
                rule.rawRetentionSeconds = retention(n, "\(path).raw_retention", Self.rawRetentionRange)
            }
            if let n = map["aggregate_retention"] {
                rule.aggregateRetentionSeconds = retention(
                    n,
                    "\(path).aggregate_retention",
                    Self.aggregateRetentionRange,
                    allowOff: true
                )
            }
            prefixes[prefix] = rule
        }
        return prefixes
    }

    mutating func boolean(_ node: YAMLNode, _ path: String) -> Bool? {
        if case .scalar(let text, true) = node.kind, case .bool(let b) = YAMLScalar.resolve(text) { return b }
        report(.wrongType, node, path, "expected true or false, found \(node.typeName) (\(Self.show(node)))")
        return nil
    }

    /// A retention: `30d`, `24h`, `90m`, `45s`, `2w`, or a number of seconds; `0` means off
    /// where `allowOff`. Nil (and reported) when malformed or out of `range`.
    mutating func retention(
        _ node: YAMLNode,
        _ path: String,
        _ range: ClosedRange<Int>,
        allowOff: Bool = false
    ) -> Int? {
        let expected =
            "expected a duration such as 30d, 24h or 90m (or seconds) from \(Self.describe(range.lowerBound)) to \(Self.describe(range.upperBound))"
            + (allowOff ? ", or 0 for off" : "")
        guard case .scalar(let text, _) = node.kind, let seconds = Self.seconds(text) else {
            report(.wrongType, node, path, "\(expected), found \(node.typeName) (\(Self.show(node)))")
            return nil
        }
        if seconds == 0 && allowOff { return 0 }
        guard range.contains(seconds) else {
            report(.outOfRange, node, path, "\(text) is out of range; \(expected)")
            return nil
        }
        return seconds
    }

    /// `30d` → 2592000; nil when not a whole number with an optional s/m/h/d/w unit, or huge.
    static func seconds(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let multiplier: Int
        var digits = Substring(text)
        switch last {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3_600
        case "d": multiplier = 86_400
        case "w": multiplier = 604_800
        default: multiplier = 1
        }
        if !last.isNumber { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.count <= 12,
            let count = Int(digits)
        else { return nil }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : seconds
    }

    static func describe(_ seconds: Int) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3_600 == 0 { return "\(seconds / 3_600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
