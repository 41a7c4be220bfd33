/// Something a Lua script did wrong, as a person reads it.
public struct LuaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The script does not compile (syntax error), or the file cannot be read.
        case load
        /// The script raised an error while running.
        case runtime
        /// The script's heap would exceed its memory cap.
        case memory
        /// The script ran too long without calling a blocking host function.
        case cpuGuard
        /// The script was stopped (stop or reload) and had to be interrupted.
        case stopped
        /// The Lua state could not be created.
        case setup
    }

    public let code: Code
    /// The message with `file:line:` where Lua knows it, and a traceback for runtime errors.
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The first line of the message: `chiller.lua:12: attempt to index a nil value`.
    public var summary: String { String(message.split(separator: "\n", maxSplits: 1).first ?? "") }

    public var description: String { message }
}

/// Why a Lua value could not be converted to Swift.
public struct LuaConversionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where in the value: `value.readings[3]`.
    public let path: String
    public let reason: String

    public var description: String { "\(path): \(reason)" }
}
