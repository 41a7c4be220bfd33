/// Why a bridge could not be set up, as a person reads it (the bridge's status shows it as
/// `last_error`; the hub keeps running without that bridge).
public struct BridgeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// libmosquitto could not be initialised or refused a setting.
        case library
        /// The TLS files were refused (unreadable, not PEM, key not matching the certificate).
        case tls
        /// The username or password was refused (too long, not UTF-8).
        case credentials
        /// No thread could be started (the bridge's own, or libmosquitto's network thread).
        case thread
        /// The bridge's name cannot name a status channel.
        case invalidName
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
