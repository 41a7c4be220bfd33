import CoreMetrics
import PlenumCore

/// What one bridge reports on `/metrics`, each with the dimension `bridge="<name>"`. Counters
/// advance by the bridge's own totals when it refreshes its status, not per message.
struct BridgeMetrics: Sendable {
    let connected: Gauge
    let queuedChannels: Gauge
    let inFlight: Gauge
    let sent: Counter
    let conflated: Counter
    let connects: Counter
    let connectionLosses: Counter
    let publishErrors: Counter
    let skippedChannels: Counter
    /// Downstream writes answered, by outcome (`plenum_bridge_writes_total{bridge,result}`).
    let writes: [String: Counter]

    init(bridge: String, factory: any MetricsFactory) {
        let dimensions = [("bridge", bridge)]
        connected = Gauge(label: "plenum_bridge_connected", dimensions: dimensions, factory: factory)
        queuedChannels = Gauge(label: "plenum_bridge_queued_channels", dimensions: dimensions, factory: factory)
        inFlight = Gauge(label: "plenum_bridge_inflight_messages", dimensions: dimensions, factory: factory)
        sent = Counter(label: "plenum_bridge_messages_sent_total", dimensions: dimensions, factory: factory)
        conflated = Counter(label: "plenum_bridge_versions_conflated_total", dimensions: dimensions, factory: factory)
        connects = Counter(label: "plenum_bridge_connects_total", dimensions: dimensions, factory: factory)
        connectionLosses = Counter(
            label: "plenum_bridge_connection_losses_total",
            dimensions: dimensions,
            factory: factory
        )
        publishErrors = Counter(label: "plenum_bridge_publish_errors_total", dimensions: dimensions, factory: factory)
        var writes: [String: Counter] = [:]
        for code in WriteOutcome.Code.allCases {
            writes[code.rawValue] = Counter(
                label: "plenum_bridge_writes_total",
                dimensions: dimensions + [("result", code.rawValue)],
                factory: factory
            )
        }
        self.writes = writes
        skippedChannels = Counter(
            label: "plenum_bridge_skipped_channels_total",
            dimensions: dimensions,
            factory: factory
        )
    }
}
