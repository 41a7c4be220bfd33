internal import CYAML

/// Reads YAML text into a `YAMLNode` tree through libyaml's event parser.
///
/// Aliases are resolved by sharing the anchored subtree; the total weight of the document
/// (nodes after expansion) is bounded by `maxNodes`, so a "billion laughs" document fails
/// fast with an error instead of exhausting memory or time.
struct YAMLReader {
    struct Failure: Error {
        var code: ConfigDiagnostic.Code
        var mark: SourceMark
        var message: String
    }

    static let maxNodes = 100_000

    /// Parses one YAML document. Returns nil when the stream has no document (an empty file or
    /// only comments).
    static func read(_ bytes: [UInt8]) throws(Failure) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw Failure(code: .unreadable, mark: SourceMark(line: 1, column: 1), message: "libyaml could not start")
        }
        defer { yaml_parser_delete(&parser) }

        return try bytes.withUnsafeBufferPointer { buffer throws(Failure) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    throw parserFailure(&parser, bytes: bytes)
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.handle(&event)
            }
            return builder.document
        }
    }

    private static func mark(_ m: yaml_mark_t) -> SourceMark {
        SourceMark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    private static func parserFailure(_ parser: inout yaml_parser_t, bytes: [UInt8]) -> Failure {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_READER_ERROR:
            // Reader errors carry a byte offset, not a mark; locate it ourselves.
            let location = locate(offset: Int(parser.problem_offset), in: bytes)
            var message = "the file is not valid UTF-8 (\(problem)"
            if parser.problem_value >= 0 { message += " 0x" + String(parser.problem_value, radix: 16, uppercase: true) }
            message += "); save hub.yaml as UTF-8"
            return Failure(code: .encoding, mark: location, message: message)
        default:
            var message = "YAML syntax error: \(problem)"
            if let context = parser.context.map({ String(cString: $0) }) {
                let at = mark(parser.context_mark)
                message += " (\(context) at line \(at.line), column \(at.column))"
            }
            return Failure(code: .syntax, mark: mark(parser.problem_mark), message: message)
        }
    }

    /// Line and column (1-based, in characters) of a byte offset.
    static func locate(offset: Int, in bytes: [UInt8]) -> SourceMark {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return SourceMark(line: line, column: column)
    }

    /// Turns the event stream into a tree.
    private struct Builder {
        /// A collection being built, with its running weight.
        private struct Open {
            var isMapping: Bool
            var items: [YAMLNode] = []
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var pendingKey: YAMLNode?
            var mark: SourceMark
            var anchor: String?
            var weight = 1
        }

        private var stack: [Open] = []
        private var anchors: [String: YAMLNode] = [:]
        private var documents = 0
        var document: YAMLNode?

        mutating func handle(_ event: inout yaml_event_t) throws(Failure) {
            let at = YAMLReader.mark(event.start_mark)
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw Failure(
                        code: .structure,
                        mark: at,
                        message: "the file holds more than one YAML document; put everything in one"
                    )
                }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(
                    decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length),
                    as: UTF8.self
                )
                let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE
                try add(
                    YAMLNode(kind: .scalar(text, plain: plain), mark: at, weight: 1),
                    anchor: Self.string(scalar.anchor)
                )
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard var node = anchors[name] else {
                    throw Failure(
                        code: .syntax,
                        mark: at,
                        message: "alias '*\(name)' refers to no anchor; define it first with '&\(name)'"
                    )
                }
                node.mark = at
                try add(node, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                stack.append(Open(isMapping: false, mark: at, anchor: Self.string(event.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                stack.append(Open(isMapping: true, mark: at, anchor: Self.string(event.data.mapping_start.anchor)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let open = stack.popLast() else { return }
                let kind: YAMLNode.Kind = open.isMapping ? .mapping(open.pairs) : .sequence(open.items)
                try add(YAMLNode(kind: kind, mark: open.mark, weight: open.weight), anchor: open.anchor)
            default:
                break
            }
        }

        private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }

        private mutating func add(_ node: YAMLNode, anchor: String?) throws(Failure) {
            if let anchor { anchors[anchor] = node }
            guard var top = stack.popLast() else {
                document = node
                return
            }
            top.weight += node.weight
            if top.weight > YAMLReader.maxNodes {
                throw Failure(
                    code: .aliasBomb,
                    mark: node.mark,
                    message: "aliases expand this document to more than \(YAMLReader.maxNodes) nodes;"
                        + " hub.yaml does not need anchors this deep"
                )
            }
            if !top.isMapping {
                top.items.append(node)
            } else if let key = top.pendingKey {
                top.pairs.append((key: key, value: node))
                top.pendingKey = nil
            } else {
                top.pendingKey = node
            }
            stack.append(top)
        }
    }
}
