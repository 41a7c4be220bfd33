import Logging
import Synchronization

/// Whether the hub has started: its devices run (`/readyz` says ready) and its server listens.
/// Logs "hub started" once both have happened, whichever comes second.
final class StartupProgress: Sendable {
    private struct State {
        var devicesStarted = false
        var listening = false
    }
    private let state = Mutex(State())
    private let logger: Logger
    private let epoch: String
    private let deviceCount: Int

    init(logger: Logger, epoch: String, deviceCount: Int) {
        self.logger = logger
        self.epoch = epoch
        self.deviceCount = deviceCount
    }

    /// What `/readyz` reports.
    var devicesStarted: Bool { state.withLock { $0.devicesStarted } }

    func markDevicesStarted() { mark { $0.devicesStarted = true } }

    func markListening() { mark { $0.listening = true } }

    private func mark(_ change: (inout State) -> Void) {
        let completed = state.withLock { state in
            let before = state.devicesStarted && state.listening
            change(&state)
            return !before && state.devicesStarted && state.listening
        }
        if completed {
            logger.info("hub started", metadata: ["hub.epoch": "\(epoch)", "hub.devices": "\(deviceCount)"])
        }
    }
}
