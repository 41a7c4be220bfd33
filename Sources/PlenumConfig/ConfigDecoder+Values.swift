import PlenumCore

/// Typed access to YAML nodes, reporting wrong types, ranges, unknown and duplicate keys.
extension ConfigDecoder {
    /// The mapping's values by key, after reporting duplicate keys, non-string keys and keys
    /// not in `keys` (with a did-you-mean when one is close). Nil (and reported) if not a mapping.
    mutating func mapping(_ node: YAMLNode, _ path: String, keys: [String], what: String) -> [String: YAMLNode]? {
        guard case .mapping(let pairs) = node.kind else {
            let place = path.isEmpty ? "" : path
            report(
                path.isEmpty ? .structure : .wrongType,
                node,
                place,
                "expected \(what) to be a mapping (key: value lines), found \(node.typeName)"
            )
            return nil
        }
        var out: [String: YAMLNode] = [:]
        var seen: [String: SourceMark] = [:]
        for (key, value) in pairs {
            guard case .scalar(let name, _) = key.kind else {
                report(.wrongType, key, path, "keys must be plain words, found \(key.typeName)")
                continue
            }
            let keyPath = path.isEmpty ? name : "\(path).\(name)"
            if let first = seen[name] {
                report(.duplicateKey, key, keyPath, "duplicate key '\(name)' (first given at line \(first.line))")
                continue
            }
            seen[name] = key.mark
            guard keys.contains(name) else {
                var message = "unknown key '\(name)'"
                if let suggestion = Self.closest(to: name, in: keys) { message += "; did you mean '\(suggestion)'?" }
                message += " (expected one of: \(keys.joined(separator: ", ")))"
                report(.unknownKey, key, keyPath, message)
                continue
            }
            out[name] = value
        }
        return out
    }

    /// The candidate within a small edit distance of `word`, if any.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let allowed = max(1, min(3, best.0.count / 3))
        return best.1 <= allowed ? best.0 : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// How a scalar was written, for messages.
    static func show(_ node: YAMLNode) -> String {
        if case .scalar(let text, let plain) = node.kind { return plain ? text : "\"\(text)\"" }
        return node.typeName
    }

    mutating func string(_ node: YAMLNode, _ path: String) -> String? {
        if case .scalar(let text, let plain) = node.kind {
            if !plain { return text }
            if case .string(let s) = YAMLScalar.resolve(text) { return s }
        }
        report(.wrongType, node, path, "expected a string, found \(node.typeName) (\(Self.show(node)))")
        return nil
    }

    /// Reads a finite number in `range` into `target`; leaves the default and reports otherwise.
    /// `.inf` and `.nan` are refused like any other value out of range.
    mutating func number(
        _ node: YAMLNode?,
        _ path: String,
        _ range: ClosedRange<Double>,
        unit: String,
        note: String? = nil,
        into target: inout Double
    ) {
        guard let node else { return }
        var expected = "a number of \(unit) from \(Self.show(range.lowerBound)) to \(Self.show(range.upperBound))"
        if let note { expected += " (\(note))" }
        guard case .scalar(let text, true) = node.kind else {
            report(.wrongType, node, path, "expected \(expected), found \(node.typeName) (\(Self.show(node)))")
            return
        }
        let value: Double
        switch YAMLScalar.resolve(text) {
        case .integer(let i): value = Double(i)
        case .double(let d): value = d
        default:
            report(.wrongType, node, path, "expected \(expected), found \(node.typeName) (\(text))")
            return
        }
        guard range.contains(value) else {
            report(.outOfRange, node, path, "\(text) is out of range; expected \(expected)")
            return
        }
        target = value
    }

    /// A finite number, any magnitude (a scale, an offset); nil and a report otherwise.
    mutating func number(_ node: YAMLNode, _ path: String) -> Double? {
        if case .scalar(let text, true) = node.kind {
            switch YAMLScalar.resolve(text) {
            case .integer(let i): return Double(i)
            case .double(let d) where d.isFinite: return d
            default: break
            }
        }
        report(.wrongType, node, path, "expected a number, found \(node.typeName) (\(Self.show(node)))")
        return nil
    }

    /// A bound as a person writes it: `3600`, `0.01`.
    static func show(_ value: Double) -> String {
        if let integer = Int64(exactly: value) { return String(integer) }
        return String(value)
    }

    /// Reads an integer in `range` into `target`; leaves the default and reports otherwise.
    mutating func integer(_ node: YAMLNode?, _ path: String, _ range: ClosedRange<Int>, into target: inout Int) {
        guard let node else { return }
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound)"
        if case .scalar(let text, true) = node.kind {
            switch YAMLScalar.resolve(text) {
            case .integer(let i):
                if let value = Int(exactly: i), range.contains(value) {
                    target = value
                } else {
                    report(.outOfRange, node, path, "\(text) is out of range; expected \(expected)")
                }
                return
            case .double where Self.isIntegerLiteral(text):
                // Digits beyond Int64: resolved as a float, but written as an integer.
                report(.outOfRange, node, path, "\(text) is out of range; expected \(expected)")
                return
            default:
                break
            }
        }
        report(.wrongType, node, path, "expected \(expected), found \(node.typeName) (\(Self.show(node)))")
    }

    /// `[-+]?[0-9]+`: an integer however large.
    static func isIntegerLiteral(_ text: String) -> Bool {
        let digits =
            text.utf8.first == UInt8(ascii: "-") || text.utf8.first == UInt8(ascii: "+")
            ? text.utf8.dropFirst() : text.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Any YAML subtree as a JSON value (plain scalars typed by the YAML 1.2 core schema).
    /// The key path of a value is rendered only when something is reported there; the recursion
    /// is as deep as the tree, which `YAMLReader` bounds at `ConfigLimits.maxDepth`.
    mutating func json(_ node: YAMLNode, _ path: String) -> JSONValue {
        var trail = KeyTrail(base: path)
        return json(node, &trail)
    }

    private mutating func json(_ node: YAMLNode, _ trail: inout KeyTrail) -> JSONValue {
        switch node.kind {
        case .scalar(let text, let plain):
            guard plain else { return .string(text) }
            switch YAMLScalar.resolve(text) {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .integer(let i): return .integer(i)
            case .double(let d):
                if d.isFinite { return .double(d) }
                report(
                    .outOfRange,
                    node,
                    trail.rendered,
                    "\(text) cannot be a parameter value; JSON has no infinity or NaN"
                )
                return .null
            case .string(let s): return .string(s)
            }
        case .sequence(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                trail.parts.append(.index(index))
                out.append(json(item, &trail))
                trail.parts.removeLast()
            }
            return .array(out)
        case .mapping(let pairs):
            var out: [String: JSONValue] = [:]
            for (key, value) in pairs {
                guard case .scalar(let name, _) = key.kind else {
                    report(.wrongType, key, trail.rendered, "parameter names must be strings, found \(key.typeName)")
                    continue
                }
                trail.parts.append(.key(name))
                defer { trail.parts.removeLast() }
                if out[name] != nil {
                    report(.duplicateKey, key, trail.rendered, "duplicate key '\(name)'")
                    continue
                }
                out[name] = json(value, &trail)
            }
            return .object(out)
        }
    }
}

/// Where a value sits below a known key path (`devices[0].params`), kept as parts and turned
/// into text only for a message.
struct KeyTrail {
    enum Part {
        case key(String)
        case index(Int)
    }

    let base: String
    var parts: [Part] = []

    var rendered: String {
        var text = base
        for part in parts {
            switch part {
            case .key(let name): text += text.isEmpty ? name : ".\(name)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}
