import Logging
import PlenumConfig
import PlenumDevices
import PlenumServer
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGHUP: re-read hub.yaml and apply what may change while running. A `Service` that traps the
/// signal until graceful shutdown.
///
/// An invalid file is rejected with its located errors and everything keeps running as it was.
final class HubReloader: Service, Sendable {
    private let configuration: Mutex<HubConfig>
    private let configPath: String?
    private let supervisor: DeviceSupervisor
    private let server: PushServer
    private let logger: Logger

    init(
        configuration: HubConfig,
        configPath: String?,
        supervisor: DeviceSupervisor,
        server: PushServer,
        logger: Logger
    ) {
        self.configuration = Mutex(configuration)
        self.configPath = configPath
        self.supervisor = supervisor
        self.server = server
        self.logger = logger
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups { await self.reload() }
        }
    }

    func reload() async {
        guard let configPath else {
            await supervisor.reloadChangedScripts()
            return
        }
        logger.info("reloading", metadata: ["hub.config": "\(configPath)"])
        let next: HubConfig
        do {
            next = try ConfigLoader.load(path: configPath)
        } catch {
            for diagnostic in error.diagnostics { logger.error("\(diagnostic)") }
            logger.error("reload rejected: \(error.diagnostics.count) problem(s) in \(configPath); nothing changed")
            return
        }
        let previous = configuration.withLock { config in
            defer { config = next }
            return config
        }
        // Tokens, allowed origins and the certificate apply now (revoked tokens' clients get 4003).
        server.reloadSecurity(ServerSecurity(next))
        if next.server.restartSettings != previous.server.restartSettings {
            logger.warning("server settings changed in \(configPath); they take effect at the next restart")
        }
        if next.trends != previous.trends {
            logger.warning("trends settings changed in \(configPath); they take effect at the next restart")
        }
        if next.commands != previous.commands {
            logger.warning("commands settings changed in \(configPath); they take effect at the next restart")
        }
        if next.bridges != previous.bridges || next.site != previous.site {
            logger.warning("bridges or site changed in \(configPath); they take effect at the next restart")
        }
        await supervisor.apply(next.deviceSpecs)
        await supervisor.reloadChangedScripts()
    }
}
