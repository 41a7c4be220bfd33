/// How the command line (or a test) runs a hub, beyond what `hub.yaml` says.
public struct HubOptions: Sendable {
    /// The file SIGHUP re-reads (nil: a reload only reloads changed scripts).
    public var configPath: String?
    /// Listen here instead of `server.port` (the command line's `--port`; 0 picks a free port).
    public var portOverride: Int?
    /// How often script files are checked for changes, in seconds.
    public var scriptPollSeconds: Double
    /// Called once with the bound port when the server accepts connections.
    public var onListening: @Sendable (Int) -> Void

    public init(
        configPath: String? = nil,
        portOverride: Int? = nil,
        scriptPollSeconds: Double = 1,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.configPath = configPath
        self.portOverride = portOverride
        self.scriptPollSeconds = scriptPollSeconds
        self.onListening = onListening
    }
}
