import CoreMetrics
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import PlenumCore
import PlenumLua
import Synchronization

/// One device: its own OS thread, running its script in a fresh `lua_State` and restarting it
/// with exponential backoff when it fails. Publishes its status after every change.
final class DeviceRunner: Sendable {
    let spec: DeviceSpec
    private let store: ChannelStore
    private let logger: Logger
    private let signal = DeviceSignal()
    /// The running state's stop handle (nil between runs).
    private let stopHandle = Mutex<LuaStopHandle?>(nil)
    private let exited = DispatchSemaphore(value: 0)
    private let statusBox: Mutex<DeviceStatus>
    private let metrics: DeviceMetrics

    init(spec: DeviceSpec, store: ChannelStore, logger: Logger, metrics factory: any MetricsFactory) {
        self.spec = spec
        self.store = store
        self.metrics = DeviceMetrics(device: spec.name, factory: factory)
        self.logger = logger.with(device: spec.name)
        statusBox = Mutex(DeviceStatus(state: .starting, restarts: 0, lastError: nil, script: spec.script))
    }

    /// Starts the device thread.
    func start() {
        publishStatus { $0.state = .starting }
        startThread(name: spec.name, stackSize: 1 << 20) { [self] in
            superviseLoop()
            exited.signal()
        }
    }

    /// Asks the script to stop (`hub.sleep` returns false, waits end), interrupts it after the
    /// grace period, and waits for the thread to finish. Returns false if it did not.
    @discardableResult
    func stop() -> Bool {
        signal.requestStop()
        var ended = exited.wait(timeout: .now() + spec.stopGraceSeconds) == .success
        if !ended {
            logger.warning("script did not stop within its grace period; interrupting it")
            stopHandle.withLock { $0?.requestStop() }
            ended = exited.wait(timeout: .now() + 5) == .success
        }
        guard ended else {
            logger.error("device thread did not end; abandoning it")
            return false
        }
        // A device that never ran (its script did not compile) has no thread to say so.
        if statusBox.withLock({ $0.state }) != .stopped {
            publishStatus {
                $0.state = .stopped
                $0.retryInSeconds = nil
            }
        }
        return true
    }

    /// A reload's new script did not compile: this (old) version keeps running; say so.
    func reportReloadFailure(_ summary: String) {
        publishStatus { $0.lastError = "reload failed, previous version still running: " + summary }
    }

    /// The device could not start at all (its script does not compile); it is not running.
    func markFailed(_ summary: String) {
        signal.requestStop()
        exited.signal()
        publishStatus {
            $0.state = .failed
            $0.lastError = summary
        }
    }

    private func publishStatus(_ change: (inout DeviceStatus) -> Void) {
        let status = statusBox.withLock { status in
            change(&status)
            return status
        }
        store.publish(spec.statusPath, status.json)
    }

    private func superviseLoop() {
        var failures = 0
        while !signal.isStopping {
            let started = Date()
            let outcome = runOnce()
            if signal.isStopping {
                publishStatus {
                    $0.state = .stopped
                    $0.retryInSeconds = nil
                }
                return
            }
            switch outcome {
            case .finished:
                logger.info("script returned; the device is stopped")
                publishStatus {
                    $0.state = .stopped
                    $0.retryInSeconds = nil
                }
                return
            case .failed(let error):
                if Date().timeIntervalSince(started) >= spec.stableSeconds { failures = 0 }
                failures += 1
                metrics.errors.increment()
                if error.code == .cpuGuard { metrics.cpuGuardTrips.increment() }
                let delay = min(spec.maxBackoffSeconds, spec.backoffSeconds * pow(2, Double(failures - 1)))
                logger.error(
                    "script failed; restarting in \(delay) s",
                    metadata: ["device.error": "\(error.code.rawValue)", "device.traceback": "\(error.message)"]
                )
                publishStatus {
                    $0.state = .backoff
                    $0.lastError = error.summary
                    $0.retryInSeconds = delay
                }
                guard signal.sleep(until: Date().addingTimeInterval(delay)) else { break }
                metrics.restarts.increment()
                publishStatus {
                    $0.state = .starting
                    $0.restarts += 1
                    $0.retryInSeconds = nil
                }
            }
        }
        publishStatus {
            $0.state = .stopped
            $0.retryInSeconds = nil
        }
    }

    private enum Outcome {
        case finished
        case failed(LuaError)
    }

    /// One run of the script in a fresh state, on this thread.
    private func runOnce() -> Outcome {
        let context = DeviceContext(spec: spec, store: store, logger: logger, signal: signal, metrics: metrics)
        defer { context.closeAllPorts() }
        do {
            let state = try LuaState(memoryLimit: spec.memoryLimit, cpuGuard: spec.cpuGuardSeconds)
            try LuaSandbox.apply(to: state, libraryPath: spec.libraryPath)
            try HubAPI.register(in: state, context: context)
            let source = try LuaState.readSource(spec.scriptPath)
            stopHandle.withLock { $0 = state.stopHandle }
            defer { stopHandle.withLock { $0 = nil } }
            if signal.isStopping { return .finished }
            publishStatus { $0.state = .running }
            defer { context.flushMetrics(memoryInUse: state.memoryInUse) }
            try state.run(source: source, chunkName: Self.chunkName(spec.script))
            return .finished
        } catch {
            return .failed(error)
        }
    }

    /// How errors name the script: `plugins/chiller.lua` → `chiller.lua`.
    static func chunkName(_ script: String) -> String {
        String(script.split(separator: "/").last ?? Substring(script))
    }
}
