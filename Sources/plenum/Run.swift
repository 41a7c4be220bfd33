import ArgumentParser
import FoundationEssentials
import Logging
import PlenumApp
import PlenumConfig

/// `plenum run`: start the hub on a configuration and run until SIGTERM/SIGINT.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the hub: device scripts, channels and the WebSocket server."
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String = "hub.yaml"

    @Option(help: "Listen on this port instead of hub.yaml's server.port (0 picks a free one).")
    var port: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let hubConfig: HubConfig
        do {
            hubConfig = try ConfigLoader.load(path: config)
        } catch {
            printError(error.description)
            printError("plenum: not starting: \(error.diagnostics.count) problem(s) in \(config)")
            throw ExitCode(1)
        }
        if let port, !(0...65_535).contains(port) { throw ValidationError("--port must be from 0 to 65535") }
        Signals.unblockShutdownSignals()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "plenum")
        let host = hubConfig.server.host
        let (http, ws) = hubConfig.server.tls == nil ? ("http", "ws") : ("https", "wss")
        let options = HubOptions(configPath: config, portOverride: port) { port in
            printOutput(
                "plenum: listening on \(http)://\(host):\(port) (WebSocket: \(ws)://\(host):\(port)/ws/PATTERN)\n"
            )
        }
        let hub = buildHub(configuration: hubConfig, options: options, logger: logger)
        try await hub.run(gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
