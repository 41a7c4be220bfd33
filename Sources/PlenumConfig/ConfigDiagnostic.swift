/// One problem found in a configuration file, located at a 1-based line and column.
///
/// Rendered as `hub.yaml:12:9: devices[2].prefix: <what is wrong, what is expected>`.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case unreadable
        case encoding
        case syntax
        case empty
        case structure
        case aliasBomb
        /// Beyond one of `ConfigLimits`: the file's size, nesting depth, node count, a value's length.
        case tooLarge
        case tooDeep
        case tooManyNodes
        case tooLong
        case unknownKey
        case duplicateKey
        case missingKey
        case wrongType
        case outOfRange
        case invalidPath
        case invalidName
        case duplicateName
        case duplicatePrefix
        case missingScript
        case missingFile
        /// A setting that would expose the hub (an anonymous hub on a network address).
        case insecure
        /// A feature this build does not have (TLS without the `TLS` trait).
        case unsupported
    }

    public let code: Code
    /// The file as the user named it (e.g. `hub.yaml` or `/etc/plenum/hub.yaml`).
    public let file: String
    public let line: Int
    public let column: Int
    /// Where in the document: `devices[2].prefix`; empty for problems with the whole file.
    public let keyPath: String
    public let message: String

    public init(code: Code, file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        keyPath.isEmpty
            ? "\(file):\(line):\(column): \(message)"
            : "\(file):\(line):\(column): \(keyPath): \(message)"
    }
}

/// A configuration that cannot be used, with every problem found in one pass.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
