public import PlenumCore

/// The whole of `hub.yaml`, typed, with every default applied.
public struct HubConfig: Sendable, Equatable {
    public var server: ServerConfig
    public var channels: ChannelsConfig
    public var devices: [DeviceConfig]
    public var trends: TrendsConfig
    public var commands: CommandsConfig
    /// `auth:` — tokens and what they may do; nil when the section is absent (anonymous hub).
    public var auth: AuthConfig?
    /// `site:` — names this hub in MQTT topics (`plenum/<site>/…`); default: the host name.
    public var site: String = "plenum"
    /// `bridges:` — MQTT brokers the channels are published to (docs/fleet.md).
    public var bridges: [BridgeConfig] = []

    public init(
        server: ServerConfig = .init(),
        channels: ChannelsConfig = .init(),
        devices: [DeviceConfig] = [],
        trends: TrendsConfig = .init(),
        commands: CommandsConfig = .init(),
        auth: AuthConfig? = nil
    ) {
        self.server = server
        self.channels = channels
        self.devices = devices
        self.trends = trends
        self.commands = commands
        self.auth = auth
    }
}

/// `commands:` — writes from clients to device scripts (docs/configuration.md, "Writes").
public struct CommandsConfig: Sendable, Equatable {
    /// Seconds a script has to answer a write (`hub.ack`) unless its `writable:` entry says
    /// otherwise; then the client gets `timeout`. Default 5.
    public var timeoutSeconds: Double = 5
    /// Writes one device may have waiting (queued or taken, not yet answered); beyond, `busy`.
    /// Default 16.
    public var maxQueued: Int = 16

    public init() {}
}

/// `server:` — the WebSocket/HTTP listener and the push tick.
public struct ServerConfig: Sendable, Equatable {
    /// Address to listen on. Default `127.0.0.1` (this machine only); another address needs an
    /// `auth:` section or `allow_anonymous: true` (docs/security.md).
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free port (tests). Default 8080.
    public var port: Int = 8080
    /// Push tick in milliseconds; 0 pushes as soon as published (coalesced per event loop). Default 10.
    public var tickMilliseconds: Int = 10
    /// Event loops (threads) serving connections; 0 means one per core. Default 0.
    public var eventLoops: Int = 0
    /// Open connections (HTTP and WebSocket) beyond this are answered with HTTP 503. Default 10000.
    public var maxConnections: Int = 10_000
    /// Subscriptions (paths or patterns) one connection may hold. Default 1000.
    public var maxSubscriptions: Int = 1_000
    /// Bytes of pattern text one connection may hold, all subscriptions together. Default 65536.
    public var maxSubscriptionBytes: Int = 65_536
    /// A new connection must send a complete HTTP request within this, ms. Default 10000.
    public var headerTimeoutMilliseconds: Int = 10_000
    /// A keep-alive HTTP connection idle this long is closed, ms. Default 60000.
    public var idleTimeoutMilliseconds: Int = 60_000
    /// A silent WebSocket is pinged after this, and closed after as long again, ms. Default 30000.
    public var pingIntervalMilliseconds: Int = 30_000
    /// Largest client message (after reassembling fragments), bytes. Default 65536.
    public var maxMessageBytes: Int = 65_536
    /// A connection whose unsent bytes stay above this is closed with 4008. Default 4 MiB.
    public var maxPendingBytes: Int = 4 * 1_048_576
    /// Writes one WebSocket connection may have waiting for their answer; beyond, `busy`.
    /// Default 16.
    public var maxPendingWrites: Int = 16
    /// Plaintext WebSocket pushes go straight to the socket with one non-blocking send (NIO
    /// takes only what the kernel does not); false: every write through NIO. Default true.
    public var directSends = true
    /// Serve without `auth:` on an address other than loopback. Default false.
    public var allowAnonymous = false
    /// Browser origins (`https://dashboard.example:8443`, `null`, or `*`) allowed to open a
    /// WebSocket besides pages served from the hub's own host. Default none.
    public var allowedOrigins: [String] = []
    /// `tls:` — serve HTTPS and `wss://` with this certificate; nil serves plaintext.
    public var tls: TLSConfig?
    /// The dashboard's directory as written in hub.yaml. Default `dashboard` (beside hub.yaml).
    public var dashboard: String = "dashboard"
    /// `dashboard` resolved against the directory holding hub.yaml.
    public var dashboardPath: String = "dashboard"
    /// Whether hub.yaml named the dashboard directory (then it must exist).
    public var dashboardConfigured = false
    /// The Chart.js file the dashboard's charts load. Default Debian's `libjs-chart.js`.
    public var chartJS: String = ServerConfig.debianChartJS

    /// Where Debian's `libjs-chart.js` installs Chart.js 3.
    public static let debianChartJS = "/usr/share/javascript/chart.js/chart.min.js"

    /// What each key accepts (docs/configuration.md has the same table).
    public static let portRange = 0...65_535
    public static let tickMillisecondsRange = 0...60_000
    public static let eventLoopsRange = 0...256
    public static let maxConnectionsRange = 1...1_000_000
    public static let maxSubscriptionsRange = 1...1_000_000
    public static let maxMessageBytesRange = 128...67_108_864
    public static let maxPendingBytesRange = 4_096...1_073_741_824

    public init() {}

    /// The settings a reload cannot change (everything but `allowed_origins` and `tls`, which
    /// SIGHUP applies).
    public var restartSettings: ServerConfig {
        var settings = self
        settings.allowedOrigins = []
        settings.tls = nil
        return settings
    }
}

/// `channels:` — per-channel history.
public struct ChannelsConfig: Sendable, Equatable {
    /// Versions kept per channel for clients that resume after a reconnect. Default 16.
    public var history: Int = 16
    /// Other depths for channels under given prefixes (the longest matching prefix wins).
    public var historyByPrefix: [ChannelPath: Int] = [:]

    /// What `history` and each depth of `history_by_prefix` accept.
    public static let historyRange = 0...100_000

    public init() {}
}

/// One entry of `devices:` — a Lua script run in its own thread.
public struct DeviceConfig: Sendable, Equatable {
    /// Unique name; also names the status channel `/plenum/devices/<name>/status`.
    public var name: String
    /// The script path as written in hub.yaml.
    public var script: String
    /// The script path resolved against the directory holding hub.yaml.
    public var scriptPath: String
    /// Channel prefix that relative `hub.publish` paths are joined onto.
    public var prefix: ChannelPath
    /// `params:` as given (a JSON object; empty when absent); the script sees it as `hub.params`.
    public var params: JSONValue
    public var limits: DeviceLimits
    /// What clients may write to this device's channels (`writable:`, and for
    /// `modbus_device.lua` the points marked `writable:`), with absolute paths.
    public var writable: [WritableChannel]

    public init(
        name: String,
        script: String,
        scriptPath: String,
        prefix: ChannelPath,
        params: JSONValue = .object([:]),
        limits: DeviceLimits = .init(),
        writable: [WritableChannel] = []
    ) {
        self.name = name
        self.script = script
        self.scriptPath = scriptPath
        self.prefix = prefix
        self.params = params
        self.limits = limits
        self.writable = writable
    }
}

/// `devices[].limits:` — what one script may consume.
public struct DeviceLimits: Sendable, Equatable {
    /// Lua heap cap in MiB. Default 64.
    public var memoryMB: Int = 64
    /// Seconds a script may run without entering a blocking `hub` call. Default 5. Always on:
    /// the smallest value is 10 ms (the hook's resolution is far finer), the largest an hour.
    public var cpuGuardSeconds: Double = 5
    /// Milliseconds a stopping script is given before the hook stops it; 0 interrupts it at
    /// once. Default 2000. At most a minute, so a stop stays within a service manager's timeout.
    public var stopGraceMilliseconds: Int = 2_000

    public static let memoryMBRange = 1...4_096
    public static let cpuGuardSecondsRange = 0.01...3_600.0
    public static let stopGraceMillisecondsRange = 0...60_000

    /// `stopGraceMilliseconds` as the seconds a `Deadline` takes.
    public var stopGraceSeconds: Double { Double(stopGraceMilliseconds) / 1_000 }

    public init() {}
}
