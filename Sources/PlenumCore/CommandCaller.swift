/// Who asks for a write, as the command router sees it: a name for the audit log and the access
/// policy's answer to "may this caller write that channel?".
///
/// Transports build one per connection from the authenticated identity (the auth policy
/// decides `mayWrite`; the router only asks it). Without authentication every caller is
/// `anonymous`, which may write every writable channel.
public struct CommandCaller: Sendable {
    /// The token's name; nil for an anonymous caller (audited as `anonymous`).
    public var name: String?
    public var mayWrite: @Sendable (ChannelPath) -> Bool

    public init(name: String?, mayWrite: @escaping @Sendable (ChannelPath) -> Bool) {
        self.name = name
        self.mayWrite = mayWrite
    }

    /// No authentication configured: may write every writable channel.
    public static let anonymous = CommandCaller(name: nil) { _ in true }

    /// The name the audit shows.
    public var auditName: String { name ?? "anonymous" }
}
