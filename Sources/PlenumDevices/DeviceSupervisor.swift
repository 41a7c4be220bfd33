import CoreMetrics
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import PlenumCore
import PlenumLua
import Synchronization

/// Runs the configured devices, replaces them on reload, and stops them.
///
/// A reload (changed script file, SIGHUP, or a new device list) compiles the new script in a
/// fresh state first; only if it compiles is the old device stopped and the new one started.
/// When it does not, the old one keeps running and the error is logged and published in the
/// device's status (`last_error`).
public final class DeviceSupervisor: Sendable {
    private let store: ChannelStore
    private let logger: Logger
    private struct Entry {
        var runner: DeviceRunner
        /// The script's modification time and size when it was last (re)started.
        var fingerprint: FileFingerprint?
    }
    private let entries = Mutex<[String: Entry]>([:])
    /// Serialises apply/reload/stop so two reloads never interleave.
    private let operations = Mutex<Void>(())
    private let watching = Atomic<Bool>(false)
    private let metrics: any MetricsFactory

    /// - Parameter metrics: where each device's counters go (`DeviceMetrics`).
    public init(store: ChannelStore, logger: Logger, metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.store = store
        self.logger = logger
        self.metrics = metrics
    }

    public var deviceNames: [String] { entries.withLock { $0.keys.sorted() } }

    /// Starts, replaces or stops devices so that exactly `specs` run. Devices whose spec is
    /// unchanged keep running untouched.
    public func apply(_ specs: [DeviceSpec]) {
        operations.withLock { _ in
            let current = entries.withLock { $0 }
            let wanted = Set(specs.map(\.name))
            for (name, entry) in current where !wanted.contains(name) {
                logger.info("removing device", metadata: ["device.name": "\(name)"])
                entry.runner.stop()
                entries.withLock { _ = $0.removeValue(forKey: name) }
            }
            for spec in specs {
                if let existing = current[spec.name], existing.runner.spec == spec { continue }
                replace(spec, reason: current[spec.name] == nil ? "starting device" : "device changed")
            }
        }
    }

    /// Reloads the devices whose script file changed since they started.
    public func reloadChangedScripts() {
        operations.withLock { _ in
            let current = entries.withLock { $0 }
            for (_, entry) in current.sorted(by: { $0.key < $1.key }) {
                let now = FileFingerprint(path: entry.runner.spec.scriptPath)
                guard now != entry.fingerprint else { continue }
                entries.withLock { $0[entry.runner.spec.name]?.fingerprint = now }
                replace(entry.runner.spec, reason: "script changed")
            }
        }
    }

    /// Compiles the new script first; swaps only if it compiles. Call with `operations` held.
    private func replace(_ spec: DeviceSpec, reason: String) {
        let log = logger.with(device: spec.name)
        let old = entries.withLock { $0[spec.name] }
        do {
            try LuaState.compileCheck(
                try LuaState.readSource(spec.scriptPath),
                chunkName: DeviceRunner.chunkName(spec.script)
            )
        } catch {
            log.error(
                "\(reason): new script does not load; \(old == nil ? "device not started" : "keeping the running version")",
                metadata: ["device.error": "\(error.message)"]
            )
            if let old {
                old.runner.reportReloadFailure(error.summary)
            } else {
                let runner = DeviceRunner(spec: spec, store: store, logger: logger, metrics: metrics)
                runner.markFailed(error.summary)
                entries.withLock {
                    $0[spec.name] = Entry(runner: runner, fingerprint: FileFingerprint(path: spec.scriptPath))
                }
            }
            return
        }
        log.info("\(reason)", metadata: ["device.script": "\(spec.script)"])
        old?.runner.stop()
        let runner = DeviceRunner(spec: spec, store: store, logger: logger, metrics: metrics)
        entries.withLock { $0[spec.name] = Entry(runner: runner, fingerprint: FileFingerprint(path: spec.scriptPath)) }
        runner.start()
    }

    /// Polls the scripts every `interval` seconds and reloads the ones that changed, until
    /// `stopAll()`.
    public func watchScripts(every interval: Double = 1) {
        guard !watching.exchange(true, ordering: .relaxed) else { return }
        startThread(name: "script watcher", stackSize: 1 << 20) { [self] in
            while watching.load(ordering: .relaxed) {
                usleep(useconds_t(interval * 1_000_000))
                if watching.load(ordering: .relaxed) { reloadChangedScripts() }
            }
        }
    }

    /// Stops every device (each gets its grace period), in parallel.
    public func stopAll() {
        watching.store(false, ordering: .relaxed)
        operations.withLock { _ in
            let runners = entries.withLock { entries in
                defer { entries.removeAll() }
                return entries.values.map(\.runner)
            }
            DispatchQueue.concurrentPerform(iterations: runners.count) { runners[$0].stop() }
        }
    }
}

/// Enough of a file's identity to notice an edit.
struct FileFingerprint: Equatable {
    var modified: Date
    var size: Int

    init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let modified = attributes[.modificationDate] as? Date, let size = attributes[.size] as? Int
        else { return nil }
        self.modified = modified
        self.size = size
    }
}

extension Logger {
    func with(device name: String) -> Logger {
        var copy = self
        copy[metadataKey: "device.name"] = "\(name)"
        return copy
    }
}
