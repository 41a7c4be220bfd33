import PlenumCore

/// What `/plenum/devices/<name>/status` says about a device.
public struct DeviceStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        /// `stuck`: the script has been inside code the CPU guard cannot interrupt (a long C
        /// function) for longer than `cpu_guard_s + stop_grace`, or a stop could not end its
        /// thread; `last_error` says where it was last seen.
        case starting, running, backoff, stopped, failed, stuck
    }

    public var state: State
    public var restarts: Int
    public var lastError: String?
    /// Seconds until the next start, while in backoff.
    public var retryInSeconds: Double?
    public var script: String
    /// The device's channel prefix (`/plant/line1/chiller-1`): where its channels are, so a
    /// dashboard can show the status beside them.
    public var prefix: String
    /// What clients may write to the device (`writable:` in hub.yaml), by absolute path, as
    /// `{"type":…,"min":…,"max":…,"values":[…]}`: so a dashboard can offer a control.
    public var writable: [String: JSONValue] = [:]

    var json: JSONValue {
        var fields: [String: JSONValue] = [
            "state": .string(state.rawValue),
            "restarts": .integer(Int64(restarts)),
            "last_error": lastError.map(JSONValue.string) ?? .null,
            "script": .string(script),
            "prefix": .string(prefix),
        ]
        if let retryInSeconds { fields["retry_in_s"] = .double(retryInSeconds) }
        if !writable.isEmpty { fields["writable"] = .object(writable) }
        return .object(fields)
    }

    /// A declaration as the status shows it.
    static func describe(_ channel: WritableChannel) -> JSONValue {
        var fields: [String: JSONValue] = ["type": .string(channel.kind.description)]
        if let minimum = channel.minimum { fields["min"] = .double(minimum) }
        if let maximum = channel.maximum { fields["max"] = .double(maximum) }
        switch channel.kind {
        case .enumeration(let values): fields["values"] = .array(values.map(JSONValue.string))
        case .string: fields["max_length"] = .integer(Int64(channel.maxLength))
        case .number, .integer, .boolean: break
        }
        return .object(fields)
    }
}
