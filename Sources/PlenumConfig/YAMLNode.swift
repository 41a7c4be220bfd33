/// A position in a source file, 1-based.
struct SourceMark: Sendable, Equatable {
    var line: Int
    var column: Int
}

/// A YAML document as a tree, each node carrying where it started.
struct YAMLNode: Sendable {
    enum Kind: Sendable {
        /// `plain` is false for quoted and block scalars, which are always strings.
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    var kind: Kind
    var mark: SourceMark
    /// Number of nodes in this subtree, counting every alias expansion; bounded by the reader.
    var weight: Int
    /// Lists and mappings nested in this subtree, itself included (0 for a scalar), counting
    /// through aliases; the reader keeps a node's level plus this within `ConfigLimits.maxDepth`.
    var levels: Int = 0

    var typeName: String {
        switch kind {
        case .scalar(let text, let plain):
            if !plain { return "a string" }
            switch YAMLScalar.resolve(text) {
            case .null: return "null"
            case .bool: return "a boolean"
            case .integer: return "an integer"
            case .double: return "a number"
            case .string: return "a string"
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// YAML 1.2 core-schema resolution of plain scalars.
enum YAMLScalar: Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)

    static func resolve(_ text: String) -> YAMLScalar {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let digits = text.hasPrefix("+") ? String(text.dropFirst()) : text
        if let i = Int64(digits) { return .integer(i) }
        if digits.hasPrefix("0x"), let i = Int64(digits.dropFirst(2), radix: 16) { return .integer(i) }
        if digits.hasPrefix("0o"), let i = Int64(digits.dropFirst(2), radix: 8) { return .integer(i) }
        let first = digits.first
        if first == "-" || first == "." || (first?.isNumber ?? false), let d = Double(digits), !digits.contains("_") {
            return .double(d)
        }
        return .string(text)
    }
}
