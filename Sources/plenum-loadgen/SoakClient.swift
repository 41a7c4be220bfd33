import Foundation

/// One soak client's view of its WebSocket: what it asked for, what the hub acknowledged, and
/// the newest version it holds of each channel — checked against the protocol's promises as
/// each message arrives (docs/protocol.md: versions only go up; after `unsubscribed`, nothing
/// arrives for a channel no remaining subscription matches).
///
/// Owned by one `SoakThread`.
final class SoakClient {
    enum Phase {
        /// Waiting for the 101 and the welcome.
        case connecting
        case open
        /// This client sent a close frame and waits for the hub's.
        case closing
    }

    enum Request {
        case subscribe([String])
        case unsubscribe([String])
    }

    let connection: RawConnection
    var phase = Phase.connecting
    /// Patterns the hub has acknowledged (in `subscribed`), minus those it acknowledged removing.
    private(set) var held: Set<String> = []
    /// Requests sent and not yet acknowledged, in order (the hub answers in order).
    private(set) var pending: [Request] = []
    /// The newest version received per channel.
    private(set) var versions: [String: Int64] = [:]
    /// When this client next does something, and when it goes away.
    var nextAction: Double
    var leaveAt: Double

    init(connection: RawConnection, urlPattern: String?, now: Double, lifetime: Double) {
        self.connection = connection
        if let urlPattern { pending.append(.subscribe([urlPattern])) }
        nextAction = now + Double.random(in: 1...5)
        leaveAt = now + lifetime
    }

    var settled: Bool { phase == .open && pending.isEmpty }

    /// Every pattern that may deliver: held, or asked for and not yet acknowledged.
    private var mayDeliver: [String] {
        var all = Array(held)
        for case .subscribe(let patterns) in pending { all += patterns }
        return all
    }

    func subscribe(_ patterns: [String]) -> Bool {
        pending.append(.subscribe(patterns))
        return send(["op": "subscribe", "channels": patterns])
    }

    func unsubscribe(_ patterns: [String]) -> Bool {
        pending.append(.unsubscribe(patterns))
        return send(["op": "unsubscribe", "channels": patterns])
    }

    func ping() -> Bool { send(["op": "ping", "id": Int.random(in: 0...1_000_000)]) }

    var heldPatterns: [String] { Array(held) }

    private func send(_ message: [String: Any]) -> Bool {
        guard let data = try? JSONSerialization.data(withJSONObject: message) else { return false }
        return connection.sendFrame(opcode: 0x1, [UInt8](data))
    }

    /// A text message from the hub; returns a broken promise, if any.
    func received(_ payload: UnsafeRawBufferPointer, stats: inout SoakStats) -> String? {
        stats.messages += 1
        if let update = UpdateScan(payload) {
            stats.updates += 1
            return receivedVersion(update.channel, update.version, strictlyNewer: true)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let type = object["type"] as? String
        else { return "a message that is not a JSON object with a type" }
        switch type {
        case "welcome":
            guard phase == .connecting else { return "a second welcome" }
            phase = .open
        case "subscribed":
            guard case .subscribe(let patterns)? = pending.first else { return "subscribed without a subscribe" }
            pending.removeFirst()
            held.formUnion(patterns)
        case "unsubscribed":
            guard case .unsubscribe(let patterns)? = pending.first else { return "unsubscribed without an unsubscribe" }
            pending.removeFirst()
            held.subtract(patterns)
        case "snapshot":
            stats.snapshots += 1
            for entry in object["channels"] as? [[String: Any]] ?? [] {
                guard let channel = entry["channel"] as? String,
                    let version = (entry["version"] as? NSNumber)?.int64Value
                else {
                    return "a snapshot entry without channel and version"
                }
                if let broken = receivedVersion(channel, version, strictlyNewer: false) { return broken }
            }
        case "pong":
            break
        default:
            return "unexpected \(type): \(String(decoding: payload.prefix(160), as: UTF8.self))"
        }
        return nil
    }

    private func receivedVersion(_ channel: String, _ version: Int64, strictlyNewer: Bool) -> String? {
        guard mayDeliver.contains(where: { SoakPattern.matches($0, channel) }) else {
            return "\(channel) v\(version) arrived, but no subscription held or asked for matches it"
        }
        if let held = versions[channel], strictlyNewer ? version <= held : version < held {
            return "\(channel): v\(version) arrived after v\(held)"
        }
        versions[channel] = version
        return nil
    }

    /// Channels of `expected` that this client's subscriptions match and for which it does not
    /// hold exactly the expected version, as "channel: held vN, expected vM".
    func mismatches(against expected: [String: Int64]) -> [String] {
        var wrong: [String] = []
        for (channel, version) in expected where held.contains(where: { SoakPattern.matches($0, channel) }) {
            if versions[channel] != version {
                wrong.append(
                    "\(channel): held \(versions[channel].map { "v\($0)" } ?? "nothing"), expected v\(version)"
                )
            }
        }
        return wrong
    }

    /// (client, channel) pairs that `mismatches` checks.
    func checked(against expected: [String: Int64]) -> Int {
        expected.keys.filter { channel in held.contains(where: { SoakPattern.matches($0, channel) }) }.count
    }
}
