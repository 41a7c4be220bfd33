import Testing

@testable import PlenumCore

/// `GET /api/history/<path>?from=&to=&step=` as the server parses it, and the answer's bytes.
@Suite struct HistoryRequestTests {
    private let now: Int64 = 1_740_841_200_000_000  // 2025-03-01T15:00:00Z

    @Test func isoTimestampsParseAndFormat() {
        #expect(UTCTime.parse("2025-03-01T15:00:00Z") == now)
        #expect(UTCTime.parse("2025-03-01 16:00:00+01:00") == now)
        #expect(UTCTime.parse("2025-03-01T09:30-0530") == now)
        #expect(UTCTime.parse("2025-03-01T15:00:00.25Z") == now + 250_000)
        #expect(UTCTime.parse("2025-03-01") == now - 15 * 3_600_000_000)
        #expect(UTCTime.parse("1970-01-01T00:00:00Z") == 0)
        #expect(UTCTime.parse("2024-02-29") != nil)
        for bad in ["2025-02-29", "2025-13-01", "2025-03-01T24:00", "2025-03-01T15:00:00Zjunk", "yesterday", ""] {
            #expect(UTCTime.parse(bad) == nil, "\(bad)")
        }
        #expect(UTCTime.format(now) == "2025-03-01T15:00:00Z")
        #expect(UTCTime.format(now + 1) == "2025-03-01T15:00:00.000001Z")
        #expect(UTCTime.format(-1_000_000) == "1969-12-31T23:59:59Z")
        for micros: Int64 in [0, 951_782_400_000_000, 4_102_444_799_999_999, -86_400_000_000] {
            #expect(UTCTime.parse(UTCTime.format(micros)) == micros)
        }
    }

    @Test func parametersBecomeAQuery() throws {
        let q = try HistoryRequest.parse(channel: "/plant/a", query: "from=-2h&step=5m", now: now)
        #expect(q.channel.string == "/plant/a")
        #expect(q.from == now - 7_200_000_000 && q.to == now)
        #expect(q.step == .seconds(300))
        let absolute = try HistoryRequest.parse(
            channel: "/plant/a",
            query: "from=2025-03-01T14:00:00Z&to=\(now)&step=raw",
            now: 0
        )
        #expect(absolute.from == now - 3_600_000_000 && absolute.to == now && absolute.step == .raw)
        let defaults = try HistoryRequest.parse(channel: "/plant/a", query: "", now: now)
        #expect(defaults.from == now - 3_600_000_000 && defaults.to == now && defaults.step == .auto)
        let encoded = try HistoryRequest.parse(
            channel: "/plant/a",
            query: "from=2025-03-01T16%3A00%3A00%2B01%3A00",
            now: now + 1
        )
        #expect(encoded.from == now)
        #expect(
            try HistoryRequest.parse(channel: "/plant/a", query: "from=now-1d&step=3600", now: now).step
                == .seconds(3_600)
        )
    }

    @Test func badParametersSayWhatIsExpected() {
        let cases: [(String, String)] = [
            ("from=yesterday", "from=yesterday is not a time"),
            ("step=90s", "step=90s is not a step"),
            ("from=now&to=-1h", "the range is empty"),
            ("color=red", "unknown parameter 'color'"),
            ("from=%zz", "not valid percent-encoding"),
            ("from=99999999999999999999", "is not a time"),
        ]
        for (query, message) in cases {
            #expect {
                try HistoryRequest.parse(channel: "/plant/a", query: query, now: now)
            } throws: { error in
                guard let error = error as? HistoryError else { return false }
                return error.code == .badRequest && error.message.contains(message)
            }
        }
        #expect(throws: HistoryError.self) { try HistoryRequest.parse(channel: "/plant//a", query: "", now: now) }
    }

    @Test func autoPicksRawForAnHourWithRawSamplesAndOtherwiseAtMost1440Buckets() {
        let hour: Int64 = 3_600_000_000
        #expect(HistoryStep.resolve(span: hour, rawAvailable: true) == .raw)
        #expect(HistoryStep.resolve(span: hour + 1, rawAvailable: true) == .seconds(60))
        #expect(HistoryStep.resolve(span: hour, rawAvailable: false) == .seconds(60))
        #expect(HistoryStep.resolve(span: 24 * hour, rawAvailable: false) == .seconds(60))
        #expect(HistoryStep.resolve(span: 7 * 24 * hour, rawAvailable: false) == .seconds(600))
        #expect(HistoryStep.resolve(span: 30 * 24 * hour, rawAvailable: false) == .seconds(1_800))
        #expect(HistoryStep.resolve(span: 3_000 * 24 * hour, rawAvailable: false) == .seconds(86_400))
        #expect(HistoryStep.seconds(900).description == "15m" && HistoryStep.seconds(86_400).description == "1d")
    }

    @Test func answersEncodeAsJSONAndCSV() throws {
        let path = try ChannelPath("/plant/a")
        let raw = HistoryResult(
            channel: path,
            from: now,
            to: now + 60_000_000,
            step: .raw,
            points: .raw([
                .init(timestamp: now + 500_000, value: .double(6.52)),
                .init(timestamp: now + 1_500_000, value: .integer(7)),
            ])
        )
        #expect(
            String(decoding: raw.jsonBytes, as: UTF8.self)
                == #"{"channel":"/plant/a","from":1740841200000000,"to":1740841260000000,"step":"raw","points":[{"ts":1740841200500000,"value":6.52},{"ts":1740841201500000,"value":7}]}"#
        )
        #expect(
            String(decoding: raw.csvBytes, as: UTF8.self)
                == "time,ts,value\n2025-03-01T15:00:00.500000Z,1740841200500000,6.52\n2025-03-01T15:00:01.500000Z,1740841201500000,7\n"
        )
        let buckets = HistoryResult(
            channel: path,
            from: now,
            to: now + 60_000_000,
            step: .seconds(60),
            points: .buckets([.init(timestamp: now, count: 2, min: 1, max: 2, mean: 1.5, last: 2)])
        )
        #expect(
            String(decoding: buckets.jsonBytes, as: UTF8.self).hasSuffix(
                #""step":"1m","points":[{"ts":1740841200000000,"count":2,"min":1.0,"max":2.0,"mean":1.5,"last":2.0}]}"#
            )
        )
        #expect(
            String(decoding: buckets.csvBytes, as: UTF8.self)
                == "time,ts,count,min,max,mean,last\n2025-03-01T15:00:00Z,1740841200000000,2,1.0,2.0,1.5,2.0\n"
        )
        #expect(HistoryRequest.wantsCSV(accept: "text/html, text/csv;q=0.9"))
        #expect(!HistoryRequest.wantsCSV(accept: "application/json"))
        #expect(!HistoryRequest.wantsCSV(accept: nil))
    }
}
