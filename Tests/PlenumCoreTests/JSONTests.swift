import Testing

@testable import PlenumCore

@Suite struct JSONTests {
    @Test func encodesCompactlyWithSortedKeysAndEscapes() {
        let value = JSONValue.object([
            "b": .array([.integer(1), .double(2.5), .null, .bool(true)]),
            "a": .string("q\"\\\n\u{01}é"),
        ])
        #expect(value.jsonString == #"{"a":"q\"\\\n\u0001é","b":[1,2.5,null,true]}"#)
    }

    @Test func integersStayIntegers() {
        #expect(JSONValue.integer(42).jsonString == "42")
        #expect(JSONValue.double(42).jsonString == "42.0")
        #expect(JSONValue.double(21.4).jsonString == "21.4")
    }

    @Test func parsesWhatItEncodes() throws {
        let value = JSONValue.object(["x": .array([.integer(-3), .double(1e-7), .string("☃ \u{1F600}")])])
        #expect(try JSONParser.parse(value.jsonString) == value)
        #expect(try JSONParser.parse(#" {"s":"\ud83d\ude00\u00e9"} "#) == .object(["s": .string("😀é")]))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"abc", "tru", "{'a':1}", "[1] x", "\"\\ud800\"", "nan",
        "\"\t\"", "1e999",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
    }

    @Test func boundsNestingDepth() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
    }
}
