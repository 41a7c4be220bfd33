/// Reads YAML text into a `YAMLNode` tree through libyaml's event parser, within `ConfigLimits`.
///
/// Every limit is checked while the events arrive, before anything beyond it is built: the file
/// size before libyaml sees a byte, a scalar's length before it becomes a String, the nesting
/// depth when a collection opens (so libyaml's per-level work never grows past the limit and the
/// tree is never deeper than the limit, which bounds every recursion over it, teardown
/// included), and the node count at every node. Aliases are resolved by sharing the anchored
/// subtree; the document's size after expanding them is bounded too, so a "billion laughs"
/// document fails fast instead of exhausting memory or time.
struct YAMLReader {
    struct Failure: Error {
        var code: ConfigDiagnostic.Code
        var mark: SourceMark
        var message: String
        /// Where in the document, for the limits (empty for syntax errors, located by line only).
        var keyPath = ""
    }

    /// Parses one YAML document. Returns nil when the stream has no document (an empty file or
    /// only comments).
    static func read(_ bytes: [UInt8]) throws(Failure) -> YAMLNode? {
        if bytes.count > ConfigLimits.maxFileBytes {
            throw Failure(
                code: .tooLarge,
                mark: locate(offset: ConfigLimits.maxFileBytes, in: bytes),
                message: "the file is larger than \(ConfigLimits.maxFileBytes) bytes, the most hub.yaml may hold; "
                    + "it goes past the limit here"
            )
        }
        let parser = try YAMLParser(bytes, maxScalarBytes: ConfigLimits.maxScalarBytes)
        var builder = Builder()
        while true {
            let event: YAMLParser.Event
            do {
                event = try parser.next()
            } catch {
                var failure = error
                if failure.code == .tooLong { failure.keyPath = builder.keyPath() }
                throw failure
            }
            if case .streamEnd = event { break }
            try builder.handle(event)
        }
        return builder.document
    }

    /// Line and column (1-based, in characters) of a byte offset.
    static func locate(offset: Int, in bytes: some Collection<UInt8>) -> SourceMark {
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

    /// Turns the event stream into a tree, one open collection per level.
    private struct Builder {
        /// A collection being built, with its running weight (nodes after alias expansion).
        private struct Open {
            var isMapping: Bool
            var items: [YAMLNode] = []
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var pendingKey: YAMLNode?
            var mark: SourceMark
            var anchor: String?
            var weight = 1
            var levels = 1
        }

        private var stack: [Open] = []
        private var anchors: [String: YAMLNode] = [:]
        private var documents = 0
        /// Nodes as written (scalars, aliases, collections).
        private var written = 0
        /// Nodes after expanding every alias.
        private var expanded = 0
        var document: YAMLNode?

        mutating func handle(_ event: YAMLParser.Event) throws(Failure) {
            switch event {
            case .documentStart(let mark):
                documents += 1
                if documents > 1 {
                    throw Failure(
                        code: .structure,
                        mark: mark,
                        message: "the file holds more than one YAML document; put everything in one"
                    )
                }
            case .scalar(let text, let plain, let anchor, let mark):
                try count(weight: 1, at: mark)
                add(YAMLNode(kind: .scalar(text, plain: plain), mark: mark, weight: 1), anchor: anchor)
            case .alias(let name, let mark):
                guard var node = anchors[name] else {
                    throw Failure(
                        code: .syntax,
                        mark: mark,
                        message: "alias '*\(name)' refers to no anchor; define it first with '&\(name)'"
                    )
                }
                try count(weight: node.weight, at: mark)
                // The anchored subtree is within the limit where it was written, but an alias
                // may put it deeper (and aliases of aliases deeper still).
                if stack.count + node.levels > ConfigLimits.maxDepth {
                    throw Failure(
                        code: .tooDeep,
                        mark: mark,
                        message: "this alias puts lists and mappings more than \(ConfigLimits.maxDepth) levels deep; "
                            + "hub.yaml allows at most \(ConfigLimits.maxDepth)",
                        keyPath: keyPath()
                    )
                }
                node.mark = mark
                add(node, anchor: nil)
            case .sequenceStart(let anchor, let mark):
                try open(isMapping: false, anchor: anchor, at: mark)
            case .mappingStart(let anchor, let mark):
                try open(isMapping: true, anchor: anchor, at: mark)
            case .collectionEnd:
                guard let open = stack.popLast() else { return }
                let kind: YAMLNode.Kind = open.isMapping ? .mapping(open.pairs) : .sequence(open.items)
                add(
                    YAMLNode(kind: kind, mark: open.mark, weight: open.weight, levels: open.levels),
                    anchor: open.anchor
                )
            case .other, .streamEnd:
                break
            }
        }

        private mutating func open(isMapping: Bool, anchor: String?, at mark: SourceMark) throws(Failure) {
            if stack.count >= ConfigLimits.maxDepth {
                throw Failure(
                    code: .tooDeep,
                    mark: mark,
                    message: "lists and mappings nest more than \(ConfigLimits.maxDepth) levels deep here; "
                        + "hub.yaml allows at most \(ConfigLimits.maxDepth)",
                    keyPath: keyPath()
                )
            }
            // The collection counts one node now; its contents count as they arrive.
            try count(weight: 1, at: mark)
            stack.append(Open(isMapping: isMapping, mark: mark, anchor: anchor))
        }

        /// Counts a node (or an alias's expansion) against the limits, before it is added.
        private mutating func count(weight: Int, at mark: SourceMark) throws(Failure) {
            written += 1
            expanded += weight
            if written > ConfigLimits.maxNodes {
                throw Failure(
                    code: .tooManyNodes,
                    mark: mark,
                    message: "the document holds more than \(ConfigLimits.maxNodes) values (keys, scalars, lists "
                        + "and mappings); hub.yaml allows at most \(ConfigLimits.maxNodes)",
                    keyPath: keyPath()
                )
            }
            // Only aliases make `expanded` outrun `written`.
            if expanded > ConfigLimits.maxNodes {
                throw Failure(
                    code: .aliasBomb,
                    mark: mark,
                    message: "aliases expand this document to more than \(ConfigLimits.maxNodes) nodes;"
                        + " hub.yaml does not need anchors this deep"
                )
            }
        }

        private mutating func add(_ node: YAMLNode, anchor: String?) {
            if let anchor { anchors[anchor] = node }
            guard var top = stack.popLast() else {
                document = node
                return
            }
            top.weight += node.weight
            top.levels = max(top.levels, node.levels + 1)
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

        /// Where the next node goes, as `devices[0].params.table[3]…`: built only for a message,
        /// never per level while reading.
        func keyPath() -> String {
            var parts: [String] = []
            for open in stack {
                if open.isMapping {
                    guard let key = open.pendingKey else { continue }  // at a key: the mapping's own path
                    guard case .scalar(let text, _) = key.kind else {
                        parts.append(".?")
                        continue
                    }
                    parts.append(parts.isEmpty ? text : "." + text)
                } else {
                    parts.append("[\(open.items.count)]")
                }
            }
            let shown = 8
            if parts.count <= shown { return parts.joined() }
            return parts.prefix(shown).joined() + "… (\(parts.count - shown) more levels)"
        }
    }
}
