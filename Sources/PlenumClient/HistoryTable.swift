import PlenumCore

/// A history answer (the API's JSON) as aligned text lines for a terminal:
///
///     2025-03-01T14:00:00Z   6.52                               (raw)
///     2025-03-01T14:00:00Z   mean 6.52  min 6.4  max 6.6  last 6.5  n 60   (a step)
public enum HistoryTable {
    /// Nil when `json` is not a history answer.
    public static func render(_ json: [UInt8]) -> String? {
        guard let answer = try? JSONParser.parse(json), case .array(let points)? = answer["points"] else { return nil }
        var lines: [String] = []
        lines.reserveCapacity(points.count + 1)
        let step = answer["step"]?.stringValue ?? "?"
        lines.append("# \(answer["channel"]?.stringValue ?? "?")  step \(step)  \(points.count) point(s)")
        for point in points {
            guard let ts = point["ts"], case .integer(let micros) = ts else { continue }
            let time = UTCTime.format(micros)
            if let value = point["value"] {
                lines.append("\(time)  \(value.jsonString)")
            } else {
                func field(_ name: String) -> String { point[name]?.jsonString ?? "-" }
                lines.append(
                    "\(time)  mean \(field("mean"))  min \(field("min"))  max \(field("max"))  last \(field("last"))  n \(field("count"))"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
