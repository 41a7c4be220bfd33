import PlenumCore

/// What `/plenum/bridges/<name>/status` says about a bridge (docs/fleet.md).
struct BridgeStatus: Equatable {
    enum State: String {
        /// Not connected yet, or reconnecting after a loss (libmosquitto retries with backoff).
        case connecting
        case connected
        /// The bridge could not be set up (`last_error` says why); the hub runs without it.
        case failed
        /// The hub is shutting down and the bridge has said `offline`.
        case stopped
    }

    var state: State
    var broker: String
    var clientID: String
    var topicPrefix: String
    /// Channels with a version not yet sent.
    var queued: Int
    var inFlight: Int
    var sent: UInt64
    var conflated: UInt64
    var connects: UInt64
    /// Channels whose path cannot be an MQTT topic (`+`, `#`) and are not bridged.
    var skipped: UInt64
    var lastError: String?
    /// Downstream writes answered, by outcome code; nil without downstream.
    var writes: [String: UInt64]?

    var json: JSONValue {
        var fields: [String: JSONValue] = [
            "state": .string(state.rawValue),
            "connected": .bool(state == .connected),
            "broker": .string(broker),
            "client_id": .string(clientID),
            "topic_prefix": .string(topicPrefix),
            "queued": .integer(Int64(queued)),
            "in_flight": .integer(Int64(inFlight)),
            "sent": .integer(Int64(clamping: sent)),
            "conflated": .integer(Int64(clamping: conflated)),
            "connects": .integer(Int64(clamping: connects)),
            "skipped_channels": .integer(Int64(clamping: skipped)),
            "last_error": lastError.map(JSONValue.string) ?? .null,
        ]
        if let writes {
            fields["writes"] = .object(writes.mapValues { .integer(Int64(clamping: $0)) })
        }
        return .object(fields)
    }
}
