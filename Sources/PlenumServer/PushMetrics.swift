public import CoreMetrics
import PlenumCore

/// What the push server reports on `/metrics`. Counters are bumped once per tick with that
/// tick's totals, not per message.
public struct PushMetrics: Sendable {
    let connections: Meter
    let openConnections: Meter
    let subscriptions: Meter
    let messages: Counter
    let bytes: Counter
    let conflated: Counter
    let slowConsumerCloses: Counter
    let acceptErrors: Counter
    let tickDuration: Timer
    /// Requests and connections that presented an unknown token.
    let authFailures: Counter
    private let accessCloses: [UInt16: Counter]
    private let protocolErrors: [String: Counter]
    private let timeouts: [String: Counter]
    private let writes: [String: Counter]

    /// Every kind `plenum_ws_protocol_errors_total{kind=…}` can have: the `error` codes and the
    /// close codes sent for protocol violations — derived, so a new code is counted too.
    static let errorKinds =
        ProtocolError.Code.allCases.map(\.rawValue) + ServerFrame.CloseCode.violations.map(\.metricKind)

    /// Every kind of `plenum_server_timeouts_total{kind=…}`.
    static let timeoutKinds = ["header", "idle", "ping"]

    public init(factory: any MetricsFactory) {
        connections = Meter(label: "plenum_ws_connections", dimensions: [], factory: factory)
        openConnections = Meter(label: "plenum_server_connections", dimensions: [], factory: factory)
        subscriptions = Meter(label: "plenum_ws_subscriptions", dimensions: [], factory: factory)
        messages = Counter(label: "plenum_ws_messages_pushed_total", dimensions: [], factory: factory)
        bytes = Counter(label: "plenum_ws_bytes_pushed_total", dimensions: [], factory: factory)
        conflated = Counter(label: "plenum_ws_versions_conflated_total", dimensions: [], factory: factory)
        slowConsumerCloses = Counter(label: "plenum_ws_slow_consumer_closes_total", dimensions: [], factory: factory)
        acceptErrors = Counter(label: "plenum_server_accept_errors_total", dimensions: [], factory: factory)
        tickDuration = Timer(label: "plenum_tick_duration_seconds", dimensions: [], factory: factory)
        authFailures = Counter(label: "plenum_auth_failures_total", dimensions: [], factory: factory)
        var accessCloses: [UInt16: Counter] = [:]
        for code in [ServerFrame.CloseCode.unauthorized, .revoked] {
            accessCloses[code.rawValue] = Counter(
                label: "plenum_ws_access_closes_total",
                dimensions: [("code", "\(code.rawValue)")],
                factory: factory
            )
        }
        self.accessCloses = accessCloses
        var errors: [String: Counter] = [:]
        for kind in Self.errorKinds {
            errors[kind] = Counter(
                label: "plenum_ws_protocol_errors_total",
                dimensions: [("kind", kind)],
                factory: factory
            )
        }
        protocolErrors = errors
        var timeouts: [String: Counter] = [:]
        for kind in Self.timeoutKinds {
            timeouts[kind] = Counter(
                label: "plenum_server_timeouts_total",
                dimensions: [("kind", kind)],
                factory: factory
            )
        }
        self.timeouts = timeouts
        var writes: [String: Counter] = [:]
        for code in WriteOutcome.Code.allCases {
            writes[code.rawValue] = Counter(
                label: "plenum_writes_total",
                dimensions: [("result", code.rawValue)],
                factory: factory
            )
        }
        self.writes = writes
    }

    /// A write through the WebSocket or REST was answered (`plenum_writes_total{result=…}`).
    func written(_ outcome: WriteOutcome) { writes[outcome.code.rawValue]?.increment() }

    func protocolError(_ code: ProtocolError.Code) { protocolErrors[code.rawValue]?.increment() }

    func protocolClose(_ code: ServerFrame.CloseCode) { protocolErrors[code.metricKind]?.increment() }

    func timeout(_ kind: String) { timeouts[kind]?.increment() }

    /// A connection closed with 4001 (no valid token) or 4003 (revoked).
    func accessClose(_ code: ServerFrame.CloseCode) { accessCloses[code.rawValue]?.increment() }
}

extension ServerFrame.CloseCode {
    /// The codes sent for a client's protocol violation (counted by kind).
    static let violations: [Self] = [.protocolError, .invalidPayload, .messageTooBig]

    var metricKind: String { "close_\(rawValue)" }
}
