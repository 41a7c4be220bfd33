/// One write attempt as `/plenum/audit` and the log record it: who asked, for what, how it ended.
public struct AuditRecord: Sendable, Equatable {
    /// The caller's name, or `anonymous`.
    public var who: String
    public var channel: ChannelPath
    /// The value as the caller sent it.
    public var value: JSONValue
    /// The transport: `ws`, `rest`, `mqtt`.
    public var via: String
    /// When the attempt arrived, µs since the Unix epoch.
    public var timestamp: Int64
    /// The command id the device saw; nil when the write never reached the device.
    public var commandID: UInt64?
    public var outcome: WriteOutcome

    public init(
        who: String,
        channel: ChannelPath,
        value: JSONValue,
        via: String,
        timestamp: Int64,
        commandID: UInt64? = nil,
        outcome: WriteOutcome
    ) {
        self.who = who
        self.channel = channel
        self.value = value
        self.via = via
        self.timestamp = timestamp
        self.commandID = commandID
        self.outcome = outcome
    }

    /// `{"who":…,"channel":…,"value":…,"result":"ok"|code,"message":…,"via":…,"ts":…,"id":…}`
    /// (`message` only when there is one, `id` only when the device saw the write).
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "who": .string(who), "channel": .string(channel.string), "value": value,
            "result": .string(outcome.code.rawValue), "via": .string(via), "ts": .integer(timestamp),
        ]
        if !outcome.message.isEmpty { fields["message"] = .string(outcome.message) }
        if let commandID, let id = Int64(exactly: commandID) { fields["id"] = .integer(id) }
        return .object(fields)
    }
}
