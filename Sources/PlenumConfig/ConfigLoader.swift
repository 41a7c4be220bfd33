import FoundationEssentials
import PlenumCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads `hub.yaml` into a `HubConfig`, reporting every problem found in one pass.
public enum ConfigLoader {
    /// Reads and validates the file at `path`. Script paths are resolved against the file's directory.
    /// At most `ConfigLimits.maxFileBytes + 1` bytes are read, whatever the file is.
    public static func load(path: String) throws(ConfigError) -> HubConfig {
        let bytes: [UInt8]
        do {
            bytes = try readBounded(path, limit: ConfigLimits.maxFileBytes + 1)
        } catch {
            let reason: String
            switch error.code {
            case ENOENT: reason = "does not exist"
            case EACCES: reason = "cannot be read (permissions?)"
            default: reason = "cannot be read (\(error))"
            }
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
        return try parse(bytes, file: path, baseDirectory: directory)
    }

    /// Validates YAML text. `file` names the source in messages; `baseDirectory` resolves script paths.
    public static func parse(_ bytes: [UInt8], file: String, baseDirectory: String) throws(ConfigError) -> HubConfig {
        var decoder = ConfigDecoder(file: file, baseDirectory: baseDirectory)
        let root: YAMLNode?
        do {
            root = try YAMLReader.read(bytes)
        } catch {
            throw ConfigError(diagnostics: [decoder.diagnostic(error.code, error.mark, error.keyPath, error.message)])
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

    /// The first `limit` bytes of the file (all of it when shorter).
    static func readBounded(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open \(path)") }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + filled, limit - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("read \(path)")
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return bytes
    }
}
