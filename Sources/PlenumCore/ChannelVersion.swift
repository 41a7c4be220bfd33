/// One published version of a channel: immutable, shared by reference between the
/// producer, the store and every event loop that pushes it.
public final class ChannelVersion: Sendable {
    /// Dense index of the channel in its store (stable for the life of the store).
    public let channelID: Int
    public let path: ChannelPath
    /// 1 for the first publish, then +1 per publish.
    public let version: UInt64
    /// Publish time, microseconds since the Unix epoch.
    public let timestamp: Int64
    public let value: JSONValue
    /// The complete `update` message for clients, encoded once:
    /// `{"type":"update","channel":"/p","version":1,"ts":1700000000000000,"value":...}`.
    public let updateMessage: [UInt8]
    /// Where `"version":` starts in `updateMessage`.
    private let versionFieldOffset: Int

    /// `valueJSON` is `value.jsonBytes`, encoded by the caller outside the store's lock.
    init(
        channelID: Int,
        path: ChannelPath,
        pathJSON: [UInt8],
        version: UInt64,
        timestamp: Int64,
        value: JSONValue,
        valueJSON: [UInt8]
    ) {
        self.channelID = channelID
        self.path = path
        self.version = version
        self.timestamp = timestamp
        self.value = value
        var message: [UInt8] = []
        message.reserveCapacity(64 + pathJSON.count + valueJSON.count)
        message.append(contentsOf: Self.updatePrefix)
        message.append(contentsOf: #""channel":"#.utf8)
        message.append(contentsOf: pathJSON)
        message.append(UInt8(ascii: ","))
        self.versionFieldOffset = message.count
        message.append(contentsOf: #""version":"#.utf8)
        JSONValue.appendDecimal(version, to: &message)
        message.append(contentsOf: #","ts":"#.utf8)
        JSONValue.appendDecimal(timestamp, to: &message)
        message.append(contentsOf: #","value":"#.utf8)
        message.append(contentsOf: valueJSON)
        message.append(UInt8(ascii: "}"))
        self.updateMessage = message
    }

    private static let updatePrefix = Array(#"{"type":"update","#.utf8)

    /// Appends this version as a snapshot entry: `{"channel":..,"version":..,"ts":..,"value":..}`
    /// (the update message without its `"type"`).
    public func appendSnapshotEntry(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        out.append(contentsOf: updateMessage[Self.updatePrefix.count...])
    }

    /// Appends this version without its channel: `{"version":..,"ts":..,"value":..}` (what the
    /// MQTT bridge publishes on the channel's own topic).
    public func appendVersionEntry(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        out.append(contentsOf: updateMessage[versionFieldOffset...])
    }
}
