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

    /// Reads an integer in `range` into `target`; leaves the default and reports otherwise.
    mutating func integer(_ node: YAMLNode?, _ path: String, _ range: ClosedRange<Int>, into target: inout Int) {
        guard let node else { return }
        if case .scalar(let text, true) = node.kind, case .integer(let i) = YAMLScalar.resolve(text) {
            if let value = Int(exactly: i), range.contains(value) {
                target = value
            } else {
                report(
                    .outOfRange,
                    node,
                    path,
                    "\(text) is out of range; expected an integer from \(range.lowerBound) to \(range.upperBound)"
                )
            }
            return
        }
        report(
            .wrongType,
            node,
            path,
            "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(node.typeName) (\(Self.show(node)))"
        )
    }

    /// Any YAML subtree as a JSON value (plain scalars typed by the YAML 1.2 core schema).
    mutating func json(_ node: YAMLNode, _ path: String) -> JSONValue {
        switch node.kind {
        case .scalar(let text, let plain):
            guard plain else { return .string(text) }
            switch YAMLScalar.resolve(text) {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .integer(let i): return .integer(i)
            case .double(let d):
                if d.isFinite { return .double(d) }
                report(.outOfRange, node, path, "\(text) cannot be a parameter value; JSON has no infinity or NaN")
                return .null
            case .string(let s): return .string(s)
            }
        case .sequence(let items):
            return .array(items.enumerated().map { json($1, "\(path)[\($0)]") })
        case .mapping(let pairs):
            var out: [String: JSONValue] = [:]
            for (key, value) in pairs {
                guard case .scalar(let name, _) = key.kind else {
                    report(.wrongType, key, path, "parameter names must be strings, found \(key.typeName)")
                    continue
                }
                if out[name] != nil {
                    report(.duplicateKey, key, "\(path).\(name)", "duplicate key '\(name)'")
                    continue
                }
                out[name] = json(value, "\(path).\(name)")
            }
            return .object(out)
        }
    }
}
