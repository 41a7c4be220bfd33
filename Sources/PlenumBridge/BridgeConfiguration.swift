public import PlenumCore

/// One MQTT bridge: which broker, as whom, which channels, and how hard to push.
///
/// Built by the composition root from `bridges:` in hub.yaml (docs/configuration.md); every
/// field has been validated there. Durations are whole seconds because libmosquitto takes them so.
public struct BridgeConfiguration: Sendable, Equatable {
    /// TLS to the broker: the CA that signs its certificate (nil: the system's CA store) and,
    /// for brokers that ask for one, the client certificate and key (PEM files).
    public struct TLS: Sendable, Equatable {
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// Writes from the broker (`<topicPrefix><channel path>/set`), off unless given.
    public struct Downstream: Sendable, Equatable {
        /// The name the audit shows as `who` for every write through this bridge.
        public var identity: String
        /// The channels this bridge's identity may write (its ACL); the devices' `writable:`
        /// declarations still decide what is writable at all.
        public var write: [ChannelPattern]
        /// Writes waiting for their answer, at most; one more is answered `busy` (and audited).
        public var maxPending: Int

        public init(identity: String, write: [ChannelPattern], maxPending: Int = 16) {
            self.identity = identity
            self.write = write
            self.maxPending = maxPending
        }
    }

    /// Unique among the hub's bridges; names the status channel `/plenum/bridges/<name>/status`.
    public var name: String
    public var host: String
    public var port: Int
    /// The MQTT client identifier: unique per hub, stable across restarts (see `ClientIdentifier`).
    public var clientID: String
    public var username: String?
    public var password: Redacted?
    public var tls: TLS?
    /// Topics are `<topicPrefix><channel path>`; the birth/death topic is `<topicPrefix>/$status`.
    public var topicPrefix: String
    /// Channels bridged: those matching any of `include` and none of `exclude`.
    public var include: [ChannelPattern]
    public var exclude: [ChannelPattern]
    /// 0 or 1.
    public var qos: Int
    public var retain: Bool
    public var keepaliveSeconds: Int
    /// Messages handed to libmosquitto and not yet acknowledged (QoS 1) or written (QoS 0), at most.
    public var maxInflight: Int
    /// Reconnect delays: the first retry after `reconnectMinSeconds`, growing to `reconnectMaxSeconds`.
    public var reconnectMinSeconds: Int
    public var reconnectMaxSeconds: Int
    /// Changes are collected for this long before the bridge drains its feed (at most one
    /// wake-up of the bridge per batch, whatever the publish rate; 0: drain at once).
    public var batchMilliseconds: Int
    /// On shutdown, how long the bridge may spend sending the last versions before `offline`.
    public var flushSeconds: Double
    /// The status channel and the gauges are refreshed at most this often (state changes at once).
    public var statusIntervalSeconds: Double
    public var downstream: Downstream?

    public init(
        name: String,
        host: String,
        port: Int = 1883,
        clientID: String,
        username: String? = nil,
        password: Redacted? = nil,
        tls: TLS? = nil,
        topicPrefix: String,
        include: [ChannelPattern] = [Self.everything],
        exclude: [ChannelPattern] = [],
        qos: Int = 1,
        retain: Bool = true,
        keepaliveSeconds: Int = 30,
        maxInflight: Int = 100,
        reconnectMinSeconds: Int = 1,
        reconnectMaxSeconds: Int = 30,
        batchMilliseconds: Int = 5,
        flushSeconds: Double = 2,
        statusIntervalSeconds: Double = 1,
        downstream: Downstream? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.clientID = clientID
        self.username = username
        self.password = password
        self.tls = tls
        self.topicPrefix = topicPrefix
        self.include = include
        self.exclude = exclude
        self.qos = qos
        self.retain = retain
        self.keepaliveSeconds = keepaliveSeconds
        self.maxInflight = maxInflight
        self.reconnectMinSeconds = reconnectMinSeconds
        self.reconnectMaxSeconds = reconnectMaxSeconds
        self.batchMilliseconds = batchMilliseconds
        self.flushSeconds = flushSeconds
        self.statusIntervalSeconds = statusIntervalSeconds
        self.downstream = downstream
    }

    /// `/**`: every channel.
    public static let everything = try! ChannelPattern("/**")

    /// Whether `path` is bridged.
    public func includes(_ path: ChannelPath) -> Bool {
        include.contains { $0.matches(path) } && !exclude.contains { $0.matches(path) }
    }

    /// The birth/death topic: `<topicPrefix>/$status`.
    public var statusTopic: String { topicPrefix + "/$status" }
}
