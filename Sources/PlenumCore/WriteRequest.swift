/// A write a client asks for: a value for one channel. Transports build it (WebSocket `write`
/// op, `PUT /api/channels/<path>`, an MQTT `<topic>/set`) and hand it to `CommandRouter.submit`.
public struct WriteRequest: Sendable, Equatable {
    public var channel: ChannelPath
    public var value: JSONValue
    /// Which transport it came through (`ws`, `rest`, `mqtt`), for the audit.
    public var via: String

    public init(channel: ChannelPath, value: JSONValue, via: String) {
        self.channel = channel
        self.value = value
        self.via = via
    }
}
