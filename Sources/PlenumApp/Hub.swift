public import Logging
public import PlenumCore
public import PlenumDevices
public import ServiceLifecycle
public import UnixSignals

/// A built hub (see `buildHub`): its long-lived parts as `Service`s, in dependency order, and
/// handles on the state tests inspect.
public struct Hub: Sendable {
    /// The versioned channels every part meets at.
    public let store: ChannelStore
    public let supervisor: DeviceSupervisor
    /// Where clients' writes wait for the devices that own the channels.
    public let commands: CommandRouter
    let reloader: HubReloader
    /// Started in this order, shut down in the reverse order.
    public let services: [any Service]

    /// Runs every service until one of `signals` (or `ServiceGroup.triggerGracefulShutdown()` on
    /// the group, or cancellation) asks for a graceful shutdown; throws when a part fails (the
    /// port cannot be bound, for one), after the others have shut down.
    public func run(gracefulShutdownSignals signals: [UnixSignal] = [], logger: Logger) async throws {
        try await makeServiceGroup(gracefulShutdownSignals: signals, logger: logger).run()
    }

    /// The group `run` runs; tests hold it to trigger a graceful shutdown themselves.
    public func makeServiceGroup(gracefulShutdownSignals signals: [UnixSignal] = [], logger: Logger) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: signals,
                logger: logger
            )
        )
    }

    /// What SIGHUP does: re-read hub.yaml and apply it, or reload changed scripts.
    public func reload() async { await reloader.reload() }
}
