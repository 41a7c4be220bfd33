/// Why a BACnet client call failed, as a person reads it. `description` starts with the
/// `code` (`timeout: …`, `error: property/unknown-property …`) so a script can tell the cases
/// apart with a string match.
public struct BACnetError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No reply within the timeout, after every retry.
        case timeout
        /// The device answered with an Error PDU (`errorCode` names it).
        case error
        /// The device rejected the request (`reason` names why).
        case reject
        /// The transaction was aborted (`reason` names why).
        case abort
        /// The reply would need segmentation, which Plenum does not do.
        case segmentation
        /// The reply did not decode.
        case decoding
        /// The UDP socket failed (bind, send, receive).
        case socket
        /// The call was interrupted: the device is stopping, or the client was closed.
        case interrupted
        /// No I-Am from the device instance that was asked for.
        case deviceNotFound = "device not found"
        /// An argument Plenum refuses before sending anything.
        case invalidArgument = "invalid argument"
    }

    public let code: Code
    public let message: String
    /// The error class and code, for `.error`.
    public let errorCode: BACnetErrorCode?

    public init(_ code: Code, _ message: String, errorCode: BACnetErrorCode? = nil) {
        self.code = code
        self.message = message
        self.errorCode = errorCode
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
