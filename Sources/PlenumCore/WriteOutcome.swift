/// The one answer a write gets: `ok`, or why not, with a message a person can act on.
///
/// Transports show `code.rawValue` to clients (docs/protocol.md lists them) and map it to an
/// HTTP status for `PUT /api/channels/<path>`.
public struct WriteOutcome: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The device's script applied the write (`hub.ack(cmd, true)`).
        case ok
        /// No device declares this channel writable.
        case notWritable = "not_writable"
        /// The value has the wrong JSON type for the channel's declaration.
        case wrongType = "wrong_type"
        /// Outside `min`/`max`, not one of `values`, or a string too long.
        case outOfRange = "out_of_range"
        /// The caller's token may not write this channel.
        case forbidden
        /// The channel's `rate_limit` is used up; try again later.
        case rateLimited = "rate_limited"
        /// The device has `commands.max_queued` writes waiting already, or the connection has
        /// `server.max_pending_writes` writes unanswered.
        case busy
        /// The device is not running (starting, in backoff, stopped, failed, reloading), or
        /// stopped or crashed before it answered.
        case deviceUnavailable = "device_unavailable"
        /// The script did not answer within the channel's timeout.
        case timeout
        /// The script refused the write (`hub.ack(cmd, false, message)`).
        case rejected
    }

    public var code: Code
    /// Empty for `ok` unless the script said something.
    public var message: String

    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public static let ok = WriteOutcome(.ok)

    public var isOK: Bool { code == .ok }

    public var description: String { message.isEmpty ? code.rawValue : "\(code.rawValue): \(message)" }
}
