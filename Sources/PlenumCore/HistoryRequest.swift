/// `GET /api/history/<path>?from=&to=&step=` as a `HistoryQuery`, and the answer as bytes.
/// Pure: the HTTP server parses with this and writes what it returns.
public enum HistoryRequest {
    /// The default range when `from` is not given: the hour before `to`.
    public static let defaultSpanMicros: Int64 = 3_600_000_000
    /// The longest range a query may name: about ten years.
    public static let maxSpanMicros: Int64 = 3_660 * 86_400 * 1_000_000
    /// Times a query may name: years 1 to 9999.
    static let validTimes: ClosedRange<Int64> = -62_135_596_800_000_000...253_402_300_799_999_999

    /// Builds the query from the percent-decoded channel path and the raw query string (the
    /// part after `?`). `now` is the hub's wall clock, µs.
    ///
    /// - `from`, `to`: ISO-8601 (`2025-03-01T14:00:00Z`; a `+` is taken literally, not as a
    ///   space), integer µs since the Unix epoch, `now`, or a time before now such as `-2h`,
    ///   `now-90m` (units `s`, `m`, `h`, `d`, `w`). Defaults: `to` now, `from` an hour before `to`.
    /// - `step`: `auto` (default), `raw`, or a duration that is a multiple of a minute: `1m`,
    ///   `5m`, `1h`, `1d`, or a number of seconds (`300`).
    public static func parse(channel: String, query: String, now: Int64) throws(HistoryError) -> HistoryQuery {
        let path: ChannelPath
        do {
            path = try ChannelPath(channel)
        } catch {
            throw HistoryError(.badRequest, "'\(channel)' is not a valid channel path: \(error)")
        }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(String(parts[0])) ?? String(parts[0])
            let value = parts.count > 1 ? percentDecode(String(parts[1])) : ""
            guard let value else { throw HistoryError(.badRequest, "'\(key)' is not valid percent-encoding") }
            guard ["from", "to", "step"].contains(key) else {
                throw HistoryError(.badRequest, "unknown parameter '\(key)'; expected from, to and step")
            }
            parameters[key] = value
        }
        let to = try parameters["to"].map { text throws(HistoryError) in try time(text, "to", now: now) } ?? now
        let from =
            try parameters["from"].map { text throws(HistoryError) in try time(text, "from", now: now) }
            ?? to - defaultSpanMicros
        guard from < to else {
            throw HistoryError(
                .badRequest,
                "the range is empty: from (\(UTCTime.format(from))) must be before to (\(UTCTime.format(to)))"
            )
        }
        guard to - from <= maxSpanMicros else {
            throw HistoryError(.badRequest, "the range is longer than 3660 days")
        }
        let step = try parameters["step"].map { text throws(HistoryError) in try Self.step(text) } ?? .auto
        return HistoryQuery(channel: path, from: from, to: to, step: step)
    }

    /// Whether an `Accept` header asks for CSV rather than JSON.
    public static func wantsCSV(accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.lowercased().split(separator: ",").contains {
            $0.split(separator: ";").first?.trimmingSpaces == "text/csv"
        }
    }

    static func time(_ text: String, _ name: String, now: Int64) throws(HistoryError) -> Int64 {
        let bad = HistoryError(
            .badRequest,
            "\(name)=\(text) is not a time; use ISO-8601 (2025-03-01T14:00:00Z), µs since the Unix epoch, now, or -2h"
        )
        let parsed = try parseTime(text, now: now, bad)
        guard validTimes.contains(parsed) else { throw bad }
        return parsed
    }

    private static func parseTime(_ text: String, now: Int64, _ bad: HistoryError) throws(HistoryError) -> Int64 {
        if text == "now" { return now }
        var relative = Substring(text)
        if relative.hasPrefix("now") { relative = relative.dropFirst(3) }
        if relative.hasPrefix("-"), let last = relative.last, !last.isNumber {
            guard let seconds = duration(relative.dropFirst()), seconds <= 100_000_000_000 else { throw bad }
            return now - seconds * 1_000_000
        }
        if text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) || (text.hasPrefix("-") && text.count > 1) {
            guard let micros = Int64(text) else { throw bad }
            return micros
        }
        guard let parsed = UTCTime.parse(text) else { throw bad }
        return parsed
    }

    static func step(_ text: String) throws(HistoryError) -> HistoryStep {
        switch text {
        case "", "auto": return .auto
        case "raw": return .raw
        default:
            let seconds = Int64(text) ?? duration(Substring(text))
            guard let seconds, seconds > 0, seconds % 60 == 0, seconds <= 366 * 86_400 else {
                throw HistoryError(
                    .badRequest,
                    "step=\(text) is not a step; use raw, auto, or a whole number of minutes such as 1m, 15m, 1h, 1d"
                )
            }
            return .seconds(Int(seconds))
        }
    }

    /// `90s`, `15m`, `2h`, `7d`, `1w` in seconds; nil when malformed or absurdly long.
    static func duration(_ text: Substring) -> Int64? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count >= 0, count <= 1_000_000_000 else {
            return nil
        }
        switch unit {
        case "s": return count
        case "m": return count * 60
        case "h": return count * 3_600
        case "d": return count * 86_400
        case "w": return count * 604_800
        default: return nil
        }
    }

    /// `%XX` sequences decoded; nil when one is malformed or the result is not UTF-8.
    public static func percentDecode(_ text: String) -> String? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte != UInt8(ascii: "%") {
                out.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x37
        case 0x61...0x66: c - 0x57
        default: nil
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
