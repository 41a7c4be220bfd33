public import CoreMetrics

/// What the push server reports on `/metrics`. Counters are bumped once per tick with that
/// tick's totals, not per message.
public struct PushMetrics: Sendable {
    let connections: Meter
    let subscriptions: Meter
    let messages: Counter
    let bytes: Counter
    let conflated: Counter
    let slowConsumerCloses: Counter
    let tickDuration: Timer
    private let protocolErrors: [String: Counter]

    /// Every kind `plenum_ws_protocol_errors_total{kind=…}` can have: the `error` codes and the
    /// close codes sent for protocol violations.
    static let errorKinds = [
        "invalid_json", "invalid_message", "unknown_op", "bad_pattern", "too_many_subscriptions", "binary_unsupported",
        "close_1002", "close_1007", "close_1009",
    ]

    public init(factory: any MetricsFactory) {
        connections = Meter(label: "plenum_ws_connections", dimensions: [], factory: factory)
        subscriptions = Meter(label: "plenum_ws_subscriptions", dimensions: [], factory: factory)
        messages = Counter(label: "plenum_ws_messages_pushed_total", dimensions: [], factory: factory)
        bytes = Counter(label: "plenum_ws_bytes_pushed_total", dimensions: [], factory: factory)
        conflated = Counter(label: "plenum_ws_versions_conflated_total", dimensions: [], factory: factory)
        slowConsumerCloses = Counter(label: "plenum_ws_slow_consumer_closes_total", dimensions: [], factory: factory)
        tickDuration = Timer(label: "plenum_tick_duration_seconds", dimensions: [], factory: factory)
        var errors: [String: Counter] = [:]
        for kind in Self.errorKinds {
            errors[kind] = Counter(
                label: "plenum_ws_protocol_errors_total",
                dimensions: [("kind", kind)],
                factory: factory
            )
        }
        protocolErrors = errors
    }

    func protocolError(_ kind: String) { protocolErrors[kind]?.increment() }
}
