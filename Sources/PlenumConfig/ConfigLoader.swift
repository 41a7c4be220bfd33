import FoundationEssentials
import PlenumCore

/// Loads `hub.yaml` into a `HubConfig`, reporting every problem found in one pass.
public enum ConfigLoader {
    /// Reads and validates the file at `path`. Script paths are resolved against the file's directory.
    public static func load(path: String) throws(ConfigError) -> HubConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason =
                FileManager.default.fileExists(atPath: path) ? "cannot be read (permissions?)" : "does not exist"
            throw ConfigError(diagnostics: [
                ConfigDiagnostic(
                    code: .unreadable,
                    file: path,
                    line: 1,
                    column: 1,
                    keyPath: "",
                    message: "the configuration file \(reason); pass --config PATH to name another"
                )
            ])
        }
        let directory = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        return try parse(Array(data), file: path, baseDirectory: directory)
    }

    /// Validates YAML text. `file` names the source in messages; `baseDirectory` resolves script paths.
    public static func parse(_ bytes: [UInt8], file: String, baseDirectory: String) throws(ConfigError) -> HubConfig {
        var decoder = ConfigDecoder(file: file, baseDirectory: baseDirectory)
        let root: YAMLNode?
        do {
            root = try YAMLReader.read(bytes)
        } catch {
            throw ConfigError(diagnostics: [decoder.diagnostic(error.code, error.mark, "", error.message)])
        }
        guard let root else {
            throw ConfigError(diagnostics: [
                decoder.diagnostic(
                    .empty,
                    SourceMark(line: 1, column: 1),
                    "",
                    "the file is empty; expected a mapping with at least a 'devices:' list"
                )
            ])
        }
        let config = decoder.decodeHub(root)
        if !decoder.diagnostics.isEmpty { throw ConfigError(diagnostics: decoder.diagnostics) }
        return config
    }
}
