import PlenumCore

/// The JSON of every server message other than `update` (which the store pre-encodes).
enum ServerMessage {
    /// `identity` is the connection's token name (`anonymous` on a hub without `auth:`).
    static func welcome(epoch: String, tickMilliseconds: Int, identity: String) -> [UInt8] {
        object([
            "type": .string("welcome"), "epoch": .string(epoch), "tick_ms": .integer(Int64(tickMilliseconds)),
            "identity": .string(identity),
        ])
    }

    /// `recovered` is present only for subscriptions that asked to resume.
    static func subscribed(_ patterns: [ChannelPattern], id: JSONValue?, recovered: Bool? = nil) -> [UInt8] {
        var fields: [String: JSONValue] = [
            "type": .string("subscribed"), "channels": .array(patterns.map { .string($0.string) }),
        ]
        if let recovered { fields["recovered"] = .bool(recovered) }
        return object(fields, id: id)
    }

    static func unsubscribed(_ patterns: [ChannelPattern], id: JSONValue?) -> [UInt8] {
        object(["type": .string("unsubscribed"), "channels": .array(patterns.map { .string($0.string) })], id: id)
    }

    static func pong(id: JSONValue?) -> [UInt8] { object(["type": .string("pong")], id: id) }

    /// The one answer to a `write`: `{"type":"written","channel":…,"ok":true}`, or with
    /// `"ok":false`, a `code` and a `message`; a message from the script also when ok.
    static func written(_ outcome: WriteOutcome, channel: ChannelPath, id: JSONValue?) -> [UInt8] {
        object(writtenFields(outcome, channel: channel).merging(["type": .string("written")]) { $1 }, id: id)
    }

    /// The fields a write's answer has on every transport (`PUT` answers them as its body).
    static func writtenFields(_ outcome: WriteOutcome, channel: ChannelPath) -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["channel": .string(channel.string), "ok": .bool(outcome.isOK)]
        if !outcome.isOK { fields["code"] = .string(outcome.code.rawValue) }
        if !outcome.message.isEmpty { fields["message"] = .string(outcome.message) }
        return fields
    }

    static func error(_ error: ProtocolError) -> [UInt8] {
        object(
            ["type": .string("error"), "code": .string(error.code.rawValue), "message": .string(error.message)],
            id: error.id
        )
    }

    /// `{"type":"snapshot","channels":[{"channel":..,"version":..,"ts":..,"value":..},...]}`, whole.
    static func snapshot(_ versions: [ChannelVersion], id: JSONValue?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + versions.count * 96)
        out.append(contentsOf: #"{"type":"snapshot","channels":["#.utf8)
        for (index, version) in versions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            version.appendSnapshotEntry(to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let id {
            out.append(contentsOf: #","id":"#.utf8)
            id.encode(into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func object(_ fields: [String: JSONValue], id: JSONValue? = nil) -> [UInt8] {
        var fields = fields
        if let id { fields["id"] = id }
        return JSONValue.object(fields).jsonBytes
    }
}
