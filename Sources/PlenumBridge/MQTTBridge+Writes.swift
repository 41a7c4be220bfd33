import Logging
import PlenumCore

/// Downstream: `<topic_prefix><channel path>/set` messages become writes through the hub's one
/// command path (`CommandRouter`: the device's `writable:` declaration, this bridge's identity
/// and write patterns, rate limits, `/plenum/audit`), answered once on
/// `<topic_prefix><channel path>/set/result`.
///
/// The payload is the value itself (`7.5`, `true`, `"auto"`) or an object holding it under
/// `"value"`, optionally with an `"id"` the result repeats — as `PUT /api/channels/<path>`.
/// The result is `{"channel":…,"ok":…,"code":…,"message":…,"id":…}` (the fields of the
/// WebSocket `written` message), QoS 1, not retained. Retained `/set` messages are never
/// executed: the subscription asks the broker not to send them, and any that arrives is dropped.
extension MQTTBridge {
    /// A message on a subscribed topic (libmosquitto's network thread).
    func handleMessage(topic: String, payload: [UInt8], retained: Bool) {
        guard let downstream = configuration.downstream, !retained,
            topic.hasPrefix(configuration.topicPrefix), topic.hasSuffix(Self.setSuffix)
        else { return }
        let pathText = String(topic.dropFirst(configuration.topicPrefix.count).dropLast(Self.setSuffix.count))
        guard let channel = try? ChannelPath(pathText) else {
            return answer(
                topic: topic,
                [
                    "ok": .bool(false), "code": .string("invalid_message"),
                    "message": .string("'\(pathText)' is not a valid channel path"),
                ]
            )
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(payload)
        } catch {
            return answer(
                topic: topic,
                [
                    "channel": .string(channel.string), "ok": .bool(false), "code": .string("invalid_json"),
                    "message": .string("the payload must be a JSON value: \(error)"),
                ]
            )
        }
        var value = json
        var wrapperID: JSONValue?
        if case .object(let fields) = json, let inner = fields["value"] {
            value = inner
            wrapperID = fields["id"]
        }
        let id = wrapperID
        let request = WriteRequest(channel: channel, value: value, via: "mqtt")
        // The access policy's answer, as for a WebSocket or REST client: per channel, by the
        // downstream's `write:` patterns, audited under its identity.
        let caller = CommandCaller(
            Identity(name: downstream.identity, grant: AccessGrant(read: [], write: downstream.write), key: nil)
        )
        let respond: @Sendable (WriteOutcome) -> Void = { [self] outcome in
            condition.withLock {
                shared.pendingWrites -= 1
                shared.writes[outcome.code.rawValue, default: 0] += 1
            }
            answer(topic: topic, Self.resultFields(outcome, channel: channel, id: id))
        }
        guard let commands else {
            return answer(
                topic: topic,
                Self.resultFields(WriteOutcome(.notWritable, "this hub takes no writes"), channel: channel, id: id)
            )
        }
        let admitted = condition.withLock {
            guard shared.pendingWrites < downstream.maxPending else { return false }
            shared.pendingWrites += 1
            return true
        }
        guard admitted else {
            let outcome = WriteOutcome(
                .busy,
                "bridge '\(configuration.name)' has \(downstream.maxPending) writes waiting for their answer (the limit)"
            )
            condition.withLock { shared.writes[outcome.code.rawValue, default: 0] += 1 }
            commands.refuse(request, from: caller, outcome) { _ in }
            return answer(topic: topic, Self.resultFields(outcome, channel: channel, id: id))
        }
        commands.submit(request, from: caller, completion: respond)
    }

    /// Publishes a write's result on `<topic>/result` (QoS 1, not retained).
    private func answer(topic: String, _ fields: [String: JSONValue]) {
        guard let client = condition.withLock({ shared.client }) else { return }
        let result = Array((topic + "/result").utf8CString)
        _ = client.publish(topic: result, payload: JSONValue.object(fields).jsonBytes, qos: 1, retain: false)
    }

    static func resultFields(_ outcome: WriteOutcome, channel: ChannelPath, id: JSONValue?) -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["channel": .string(channel.string), "ok": .bool(outcome.isOK)]
        if !outcome.isOK { fields["code"] = .string(outcome.code.rawValue) }
        if !outcome.message.isEmpty { fields["message"] = .string(outcome.message) }
        if let id { fields["id"] = id }
        return fields
    }

    static let setSuffix = "/set"
}
