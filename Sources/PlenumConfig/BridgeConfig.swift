public import PlenumCore

/// One entry of `bridges:` — the hub's channels published to an MQTT broker (docs/fleet.md).
public struct BridgeConfig: Sendable, Equatable {
    /// Unique among the bridges; names the status channel `/plenum/bridges/<name>/status`.
    public var name: String
    /// The broker's host name or address.
    public var host: String
    /// Default 1883, or 8883 with `tls`.
    public var port: Int
    /// The MQTT client identifier as given; nil: `plenum-<site>-<name>-<suffix>`, with a suffix
    /// derived from the machine and the configuration file (stable across restarts, different
    /// for two hubs on one machine).
    public var clientID: String?
    public var username: String?
    /// Read from `password_file` or `password_env` when the file is loaded; never printed.
    public var password: Redacted?
    public var tls: BridgeTLSConfig?
    /// Default `plenum/<site>`. Topics are `<topic_prefix><channel path>`.
    public var topicPrefix: String
    /// Default `["/**"]`.
    public var include: [ChannelPattern]
    /// Default none.
    public var exclude: [ChannelPattern]
    /// 0 or 1. Default 1.
    public var qos: Int
    /// Default true: a new subscriber gets every channel's latest value at once.
    public var retain: Bool
    /// Seconds; default 30.
    public var keepaliveSeconds: Int
    /// Messages handed to libmosquitto and not yet acknowledged, at most. Default 100.
    public var maxInflight: Int
    /// First reconnect delay, seconds (default 1), growing to `reconnectMaxSeconds` (default 30).
    public var reconnectMinSeconds: Int
    public var reconnectMaxSeconds: Int
    /// Milliseconds changes are collected before the bridge takes them (default 5).
    public var batchMilliseconds: Int
    /// `downstream:` — writes from the broker; nil (the default): none.
    public var downstream: BridgeDownstreamConfig?

    public init(name: String, host: String, topicPrefix: String) {
        self.name = name
        self.host = host
        self.port = 1883
        self.topicPrefix = topicPrefix
        self.include = [Self.everything]
        self.exclude = []
        self.qos = 1
        self.retain = true
        self.keepaliveSeconds = 30
        self.maxInflight = 100
        self.reconnectMinSeconds = 1
        self.reconnectMaxSeconds = 30
        self.batchMilliseconds = 5
    }

    static let everything = try! ChannelPattern("/**")
}

/// `bridges[].downstream:` — `<topic_prefix><channel path>/set` messages become writes through
/// the hub's command path, under this identity and these write patterns.
public struct BridgeDownstreamConfig: Sendable, Equatable {
    /// The name the audit shows as `who`.
    public var identity: String
    /// The channels the bridge may write (the devices' `writable:` still decides what is writable).
    public var write: [ChannelPattern]
    /// Writes waiting for their answer, at most. Default 16.
    public var maxPending: Int

    public init(identity: String, write: [ChannelPattern], maxPending: Int = 16) {
        self.identity = identity
        self.write = write
        self.maxPending = maxPending
    }
}

/// `bridges[].tls:` — PEM files, paths resolved against the directory holding hub.yaml.
public struct BridgeTLSConfig: Sendable, Equatable {
    /// The CA that signs the broker's certificate; nil: the system's CA store.
    public var caFile: String?
    /// A client certificate and its key, for brokers that ask for one (both or neither).
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
