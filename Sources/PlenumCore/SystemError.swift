#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, as a person reads it: `open /dev/ttyUSB0: Permission denied`.
///
/// The one place `errno` becomes an error; callers name the operation and, when it is not the
/// thread's current `errno`, pass the code (for example what `pthread_create` returned).
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was attempted, with its object: `open /dev/ttyUSB0`, `poll`, `pipe`.
    public let operation: String
    /// The `errno` value.
    public let code: Int32

    /// Captures the calling thread's current `errno` unless `code` is given.
    public init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    /// The system's text for `code`: "Permission denied".
    public var reason: String { String(cString: strerror(code)) }

    public var description: String { "\(operation): \(reason)" }
}
