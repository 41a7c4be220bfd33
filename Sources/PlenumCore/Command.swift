/// An accepted write as the owning device's script receives it from `hub.commands`:
/// `{id=, channel=, path=, value=, who=}`.
public struct Command: Sendable, Equatable {
    /// Unique for the life of the hub; what `hub.ack` names.
    public var id: UInt64
    /// The absolute channel path.
    public var path: ChannelPath
    /// The channel as declared under `writable:` (relative to the device prefix).
    public var name: String
    /// The validated value (numbers as floats, integers as integers).
    public var value: JSONValue
    /// The caller's name, or `anonymous`.
    public var who: String

    public init(id: UInt64, path: ChannelPath, name: String, value: JSONValue, who: String) {
        self.id = id
        self.path = path
        self.name = name
        self.value = value
        self.who = who
    }
}

/// One running instance of a device, attached to its mailbox (`CommandRouter.attach`). An
/// instance that has been replaced or detached can no longer take or answer commands.
public struct CommandLease: Sendable, Equatable {
    public let device: String
    let generation: UInt64
}
