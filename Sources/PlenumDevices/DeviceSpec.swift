public import PlenumCore

/// Everything needed to run one device; built by `PlenumApp` from hub.yaml.
public struct DeviceSpec: Sendable, Equatable {
    public var name: String
    /// The script path as the user wrote it, for messages and status.
    public var script: String
    /// The script's resolved path.
    public var scriptPath: String
    public var prefix: ChannelPath
    public var params: JSONValue
    /// Lua heap cap in bytes.
    public var memoryLimit: Int
    /// Seconds without a blocking hub call before the script is stopped.
    public var cpuGuardSeconds: Double
    /// Seconds a stopping script gets before it is interrupted.
    public var stopGraceSeconds: Double
    /// Where `require` looks: the `lib` directory next to the script.
    public var libraryPath: String
    /// First restart delay; doubles per consecutive failure up to `maxBackoffSeconds`.
    public var backoffSeconds: Double = 1
    public var maxBackoffSeconds: Double = 60
    /// A run that lasts this long resets the backoff.
    public var stableSeconds: Double = 60
    /// What clients may write to this device (`writable:`), declared to the command router.
    public var writable: [WritableChannel]

    public init(
        name: String,
        script: String,
        scriptPath: String,
        prefix: ChannelPath,
        params: JSONValue = .object([:]),
        memoryLimit: Int = 64 << 20,
        cpuGuardSeconds: Double = 5,
        stopGraceSeconds: Double = 2,
        libraryPath: String? = nil,
        writable: [WritableChannel] = []
    ) {
        self.writable = writable
        self.name = name
        self.script = script
        self.scriptPath = scriptPath
        self.prefix = prefix
        self.params = params
        self.memoryLimit = memoryLimit
        self.cpuGuardSeconds = cpuGuardSeconds
        self.stopGraceSeconds = stopGraceSeconds
        let directory = scriptPath.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        self.libraryPath = libraryPath ?? ((directory.isEmpty ? "." : directory) + "/lib")
    }

    /// `/plenum/devices/<name>/status`.
    public var statusPath: ChannelPath { try! ChannelPath("/plenum/devices/\(name)/status") }
}
