/// ISO-8601 timestamps ↔ microseconds since the Unix epoch, without Foundation (the hub binary
/// links FoundationEssentials only, and Core links nothing).
public enum UTCTime {
    /// Parses `2025-03-01`, `2025-03-01T14:30`, `2025-03-01T14:30:05`, `2025-03-01T14:30:05.25`
    /// (up to 9 fraction digits; beyond microseconds they are cut), each optionally followed by
    /// `Z`, `+01:00`, `-0530` or `+01`. `T` may be a space or lower case. Without a zone the
    /// time is UTC. Nil when the text is not such a timestamp or names an impossible date.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) -> Int64? {
            guard i + count <= b.count else { return nil }
            var value: Int64 = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                value = value * 10 + Int64(c - 0x30)
            }
            i += count
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var seconds = daysFromCivil(year: year, month: month, day: day) * 86_400
        var micros: Int64 = 0
        if i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 {
            i += 1
            guard let hour = digits(2), expect(0x3A), let minute = digits(2), hour < 24, minute < 60 else { return nil }
            seconds += hour * 3_600 + minute * 60
            if expect(0x3A) {
                guard let second = digits(2), second < 60 else { return nil }
                seconds += second
                if expect(0x2E) || expect(0x2C) {
                    var scale: Int64 = 100_000
                    var count = 0
                    while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                        micros += Int64(b[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                        count += 1
                    }
                    guard count > 0, count <= 9 else { return nil }
                }
            }
            if i < b.count {
                if b[i] == 0x5A || b[i] == 0x7A {
                    i += 1
                } else if b[i] == 0x2B || b[i] == 0x2D {
                    let sign: Int64 = b[i] == 0x2B ? 1 : -1
                    i += 1
                    guard let hours = digits(2), hours <= 23 else { return nil }
                    var offset = hours * 3_600
                    _ = expect(0x3A)
                    if i < b.count {
                        guard let minutes = digits(2), minutes < 60 else { return nil }
                        offset += minutes * 60
                    }
                    seconds -= sign * offset
                }
            }
        }
        guard i == b.count else { return nil }
        return seconds * 1_000_000 + micros
    }

    /// `2025-03-01T14:30:05Z`, with `.123456` before the `Z` when the microseconds are not zero.
    public static func format(_ micros: Int64) -> String {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros + 1) / 1_000_000 - 1
        let fraction = micros - seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var out = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        out += "\(pad(secondOfDay / 3_600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if fraction != 0 { out += "." + pad(fraction, 6) }
        return out + "Z"
    }

    static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
