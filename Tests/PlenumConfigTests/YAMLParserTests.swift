import Testing

@testable import PlenumConfig

/// libyaml's parser state lives on the heap, owned by `YAMLParser` (it points into itself): a
/// parser can be handed around and read from across calls, and is freed with its owner. The
/// fuzz targets run the same code under AddressSanitizer (docs/reliability.md, "Fuzzing").
@Suite struct YAMLParserTests {
    private func describe(_ event: YAMLParser.Event) -> String {
        switch event {
        case .documentStart(let mark): "document \(mark.line):\(mark.column)"
        case .scalar(let text, let plain, let anchor, let mark):
            "scalar \(text) \(plain ? "plain" : "quoted")\(anchor.map { " &" + $0 } ?? "") \(mark.line):\(mark.column)"
        case .alias(let anchor, let mark): "alias \(anchor) \(mark.line):\(mark.column)"
        case .sequenceStart(_, let mark): "sequence \(mark.line):\(mark.column)"
        case .mappingStart(_, let mark): "mapping \(mark.line):\(mark.column)"
        case .collectionEnd: "end"
        case .streamEnd: "stream end"
        case .other: "other"
        }
    }

    /// Reads `count` events, in a frame of its own.
    private func read(_ count: Int, from parser: YAMLParser) throws -> [String] {
        try (0..<count).map { _ in describe(try parser.next()) }
    }

    @Test func aParserIsReadAcrossCallsAndContainers() throws {
        var parsers: [YAMLParser] = []
        for text in ["a: &x 1\nb: *x\n", "- 'q'\n- [1]\n"] {
            parsers.append(try YAMLParser(Array(text.utf8), maxScalarBytes: 64))
        }
        // Interleave the two parsers, a few events at a time, from different frames.
        var first = try read(3, from: parsers[0])
        var second = try read(4, from: parsers[1])
        parsers.reverse()
        first += try read(6, from: parsers[1])
        second += try read(6, from: parsers[0])
        #expect(
            first == [
                "other", "document 1:1", "mapping 1:1", "scalar a plain 1:1", "scalar 1 plain &x 1:4",
                "scalar b plain 2:1", "alias x 2:4", "end", "other",
            ]
        )
        #expect(
            second == [
                "other", "document 1:1", "sequence 1:1", "scalar q quoted 1:3", "sequence 2:3", "scalar 1 plain 2:4",
                "end", "end", "other", "stream end",
            ]
        )
        // Past the end, the stream stays ended.
        #expect(describe(try parsers[0].next()) == "stream end")
        #expect(describe(try parsers[1].next()) == "stream end")
        #expect(describe(try parsers[1].next()) == "stream end")
    }

    @Test func theInputIsCopiedSoTheCallersBytesMayGo() throws {
        var bytes: [UInt8]? = Array("key: value\n".utf8)
        let parser = try YAMLParser(bytes!, maxScalarBytes: 64)
        bytes = nil
        #expect(try read(5, from: parser).suffix(2) == ["scalar key plain 1:1", "scalar value plain 1:6"])
    }

    @Test func aSyntaxErrorComesBackLocatedAndTheParserCanBeDropped() throws {
        let parser = try YAMLParser(Array("a: [1, 2\n".utf8), maxScalarBytes: 64)
        var failure: YAMLReader.Failure?
        for _ in 0..<10 {
            do {
                _ = try parser.next()
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .syntax)
        #expect(failure?.mark == SourceMark(line: 2, column: 1))
    }
}
