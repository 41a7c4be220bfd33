public import InMemoryLogging
public import Logging

/// Collects log lines in memory so tests can assert on them (no global bootstrap), on
/// swift-log's `InMemoryLogHandler`.
public struct LogRecorder: Sendable {
    private let handler = InMemoryLogHandler()

    public init() {}

    /// Every line so far as `level message key=value…` (metadata sorted by key).
    public var entries: [String] {
        handler.entries.map { entry in
            let fields = entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return "\(entry.level) \(entry.message) " + fields.joined(separator: " ")
        }
    }

    /// A logger whose every message lands in this recorder.
    public func logger(level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: "test") { [handler] _ in handler }
        logger.logLevel = level
        return logger
    }
}
