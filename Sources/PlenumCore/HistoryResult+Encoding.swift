/// The history API's two answer formats.
extension HistoryResult {
    /// ```json
    /// {"channel":"/p","from":1740837600000000,"to":1740841200000000,"step":"raw",
    ///  "points":[{"ts":1740837600512000,"value":6.52}, …]}
    /// {"channel":"/p","from":…,"to":…,"step":"1m",
    ///  "points":[{"ts":1740837600000000,"count":60,"min":6.4,"max":6.6,"mean":6.52,"last":6.5}, …]}
    /// ```
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + count * 64)
        out.append(contentsOf: #"{"channel":"#.utf8)
        JSONValue.encodeString(channel.string, into: &out)
        out.append(contentsOf: #","from":"#.utf8)
        JSONValue.appendDecimal(from, to: &out)
        out.append(contentsOf: #","to":"#.utf8)
        JSONValue.appendDecimal(to, to: &out)
        out.append(contentsOf: #","step":"#.utf8)
        JSONValue.encodeString(step.description, into: &out)
        out.append(contentsOf: #","points":["#.utf8)
        switch points {
        case .raw(let samples):
            for (index, sample) in samples.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"ts":"#.utf8)
                JSONValue.appendDecimal(sample.timestamp, to: &out)
                out.append(contentsOf: #","value":"#.utf8)
                sample.value.encode(into: &out)
                out.append(UInt8(ascii: "}"))
            }
        case .buckets(let buckets):
            for (index, bucket) in buckets.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"ts":"#.utf8)
                JSONValue.appendDecimal(bucket.timestamp, to: &out)
                out.append(contentsOf: #","count":"#.utf8)
                JSONValue.appendDecimal(bucket.count, to: &out)
                for (name, value) in [
                    ("min", bucket.min), ("max", bucket.max), ("mean", bucket.mean), ("last", bucket.last),
                ] {
                    out.append(contentsOf: #",""#.utf8)
                    out.append(contentsOf: name.utf8)
                    out.append(contentsOf: #"":"#.utf8)
                    JSONValue.double(value).encode(into: &out)
                }
                out.append(UInt8(ascii: "}"))
            }
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// One header line, then one line per point (`\n` line ends); `time` is ISO-8601 UTC and
    /// `ts` the same instant in µs since the Unix epoch.
    ///
    ///     time,ts,value                                   (raw)
    ///     time,ts,count,min,max,mean,last                 (a step)
    public var csvBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + count * 64)
        switch points {
        case .raw(let samples):
            out.append(contentsOf: "time,ts,value\n".utf8)
            for sample in samples {
                out.append(contentsOf: UTCTime.format(sample.timestamp).utf8)
                out.append(UInt8(ascii: ","))
                JSONValue.appendDecimal(sample.timestamp, to: &out)
                out.append(UInt8(ascii: ","))
                sample.value.encode(into: &out)
                out.append(UInt8(ascii: "\n"))
            }
        case .buckets(let buckets):
            out.append(contentsOf: "time,ts,count,min,max,mean,last\n".utf8)
            for bucket in buckets {
                out.append(contentsOf: UTCTime.format(bucket.timestamp).utf8)
                out.append(UInt8(ascii: ","))
                JSONValue.appendDecimal(bucket.timestamp, to: &out)
                out.append(UInt8(ascii: ","))
                JSONValue.appendDecimal(bucket.count, to: &out)
                for value in [bucket.min, bucket.max, bucket.mean, bucket.last] {
                    out.append(UInt8(ascii: ","))
                    JSONValue.double(value).encode(into: &out)
                }
                out.append(UInt8(ascii: "\n"))
            }
        }
        return out
    }
}
