internal import CYAML

/// libyaml's event parser, owned.
///
/// `yaml_parser_t` keeps pointers into itself (its buffers' cursors, the string input's
/// position), so it must never move while libyaml holds it: a Swift local or stored struct may
/// be moved by the compiler. The state therefore lives in memory allocated here, initialised
/// once, deleted and freed in `deinit`; the input is copied into memory the parser owns too,
/// because libyaml keeps a pointer to it between calls.
///
/// Used by one thread, for one document; deliberately not `Sendable`.
final class YAMLParser {
    /// One libyaml event, as Swift values. Marks are 1-based.
    enum Event {
        case documentStart(SourceMark)
        case scalar(text: String, plain: Bool, anchor: String?, mark: SourceMark)
        case alias(anchor: String, mark: SourceMark)
        case sequenceStart(anchor: String?, mark: SourceMark)
        case mappingStart(anchor: String?, mark: SourceMark)
        case collectionEnd
        case streamEnd
        /// Stream start and document end: nothing to build.
        case other
    }

    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let inputCount: Int
    private let maxScalarBytes: Int
    private var finished = false

    /// - Parameter maxScalarBytes: a longer scalar (or anchor) is refused before it becomes a String.
    init(_ bytes: [UInt8], maxScalarBytes: Int) throws(YAMLReader.Failure) {
        parser = .allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            throw YAMLReader.Failure(
                code: .unreadable,
                mark: SourceMark(line: 1, column: 1),
                message: "libyaml could not start (out of memory?)"
            )
        }
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        inputCount = bytes.count
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
        self.maxScalarBytes = maxScalarBytes
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The next event; `.streamEnd` once the stream is over (and at every call after it).
    func next() throws(YAMLReader.Failure) -> Event {
        if finished { return .streamEnd }
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw failure() }
        defer { yaml_event_delete(&event) }
        let mark = Self.mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            finished = true
            return .streamEnd
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(mark)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            guard scalar.length <= maxScalarBytes else {
                throw YAMLReader.Failure(
                    code: .tooLong,
                    mark: mark,
                    message: "this value is \(scalar.length) bytes long; a value in hub.yaml may hold at most "
                        + "\(maxScalarBytes) bytes"
                )
            }
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            return .scalar(
                text: text,
                plain: scalar.style == YAML_PLAIN_SCALAR_STYLE,
                anchor: try string(scalar.anchor, at: mark),
                mark: mark
            )
        case YAML_ALIAS_EVENT:
            return .alias(anchor: try string(event.data.alias.anchor, at: mark) ?? "", mark: mark)
        case YAML_SEQUENCE_START_EVENT:
            return .sequenceStart(anchor: try string(event.data.sequence_start.anchor, at: mark), mark: mark)
        case YAML_MAPPING_START_EVENT:
            return .mappingStart(anchor: try string(event.data.mapping_start.anchor, at: mark), mark: mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            return .collectionEnd
        default:
            return .other
        }
    }

    /// An anchor name, bounded like scalars.
    private func string(
        _ pointer: UnsafeMutablePointer<yaml_char_t>?,
        at mark: SourceMark
    ) throws(YAMLReader.Failure)
        -> String?
    {
        guard let pointer else { return nil }
        var length = 0
        while pointer[length] != 0 { length += 1 }
        guard length <= maxScalarBytes else {
            throw YAMLReader.Failure(
                code: .tooLong,
                mark: mark,
                message: "this anchor name is \(length) bytes long; hub.yaml allows at most \(maxScalarBytes)"
            )
        }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func mark(_ m: yaml_mark_t) -> SourceMark {
        SourceMark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    /// libyaml's error, located: reader errors carry a byte offset, the others a mark.
    private func failure() -> YAMLReader.Failure {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown error"
        switch state.error {
        case YAML_READER_ERROR:
            let location = YAMLReader.locate(
                offset: Int(state.problem_offset),
                in: UnsafeBufferPointer(rebasing: input[..<inputCount])
            )
            var message = "the file is not valid UTF-8 (\(problem)"
            if state.problem_value >= 0 { message += " 0x" + String(state.problem_value, radix: 16, uppercase: true) }
            message += "); save hub.yaml as UTF-8"
            return YAMLReader.Failure(code: .encoding, mark: location, message: message)
        case YAML_MEMORY_ERROR:
            return YAMLReader.Failure(
                code: .unreadable,
                mark: Self.mark(state.mark),
                message: "libyaml ran out of memory reading this file"
            )
        default:
            var message = "YAML syntax error: \(problem)"
            if let context = state.context.map({ String(cString: $0) }) {
                let at = Self.mark(state.context_mark)
                message += " (\(context) at line \(at.line), column \(at.column))"
            }
            return YAMLReader.Failure(code: .syntax, mark: Self.mark(state.problem_mark), message: message)
        }
    }
}

@available(*, unavailable)
extension YAMLParser: Sendable {}
