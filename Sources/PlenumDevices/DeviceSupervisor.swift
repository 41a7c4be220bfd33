import CoreMetrics
public import Logging
public import PlenumCore
import PlenumLua
public import ServiceLifecycle
import Synchronization

/// Runs the configured devices, replaces them on reload, and stops them: a `Service`.
///
/// `run()` starts the devices and the watcher thread (script changes, stuck scripts), waits for
/// graceful shutdown or cancellation, then stops every device. Nothing starts in `init`.
///
/// A reload (changed script file, SIGHUP, or a new device list) compiles the new script in a
/// fresh state first; only if it compiles is the old device stopped and the new one started.
/// When it does not, the old one keeps running and the error is logged and published in the
/// device's status (`last_error`). A device in state `failed` starts once its file compiles.
///
/// Stopping a device waits for its thread (grace period, then interruption): blocking work that
/// runs on threads of its own, never on Swift's cooperative pool — the `async` entry points hop
/// to one, and the watcher has its own.
public final class DeviceSupervisor: Service, Sendable {
    private let store: ChannelStore
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let devices: [DeviceSpec]
    private let scriptPollSeconds: Double
    private let onStarted: @Sendable () -> Void
    /// Where clients' writes wait for the devices (nil: this hub takes no writes).
    private let commands: CommandRouter?
    private struct Entry {
        var runner: DeviceRunner
        /// The script file as it was when the device was last (re)started.
        var fingerprint: FileFingerprint?
    }
    private let entries = Mutex<[String: Entry]>([:])
    /// Instances whose stop gave up on their thread (stuck in a C function): watched until their
    /// threads end, and waited for by the next instance of the same device.
    private let abandoned = Mutex<[DeviceRunner]>([])
    /// Serialises apply/reload/stop so two reloads never interleave.
    private let operations = Mutex<Void>(())
    private let watcher = Mutex<SupervisorWatcher?>(nil)

    /// - Parameters:
    ///   - metrics: where each device's counters go (`DeviceMetrics`).
    ///   - devices: what `run()` starts.
    ///   - scriptPollSeconds: how often `run()`'s watcher checks the script files for changes.
    ///   - onStarted: called once `run()` has started the configured devices.
    ///   - commands: the router clients' writes go through: the supervisor declares each
    ///     device's `writable` channels there, and each device instance takes and answers its
    ///     writes while it runs (`hub.commands`, `hub.ack`).
    public init(
        store: ChannelStore,
        logger: Logger,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        devices: [DeviceSpec] = [],
        scriptPollSeconds: Double = 1,
        onStarted: @escaping @Sendable () -> Void = {},
        commands: CommandRouter? = nil
    ) {
        self.commands = commands
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.devices = devices
        self.scriptPollSeconds = scriptPollSeconds
        self.onStarted = onStarted
    }

    public var deviceNames: [String] { entries.withLock { $0.keys.sorted() } }

    /// Starts the configured devices and the watcher, runs until graceful shutdown (or
    /// cancellation), then stops every device.
    public func run() async throws {
        await apply(devices)
        onStarted()
        watchScripts(every: scriptPollSeconds)
        try? await gracefulShutdown()
        await stopAll()
    }

    // MARK: - Entry points (off the cooperative pool)

    /// Starts, replaces or stops devices so that exactly `specs` run. Devices whose spec is
    /// unchanged keep running untouched.
    public func apply(_ specs: [DeviceSpec]) async {
        await onOwnThread("device apply") { self.applyBlocking(specs) }
    }

    /// Reloads the devices whose script file changed since they started.
    public func reloadChangedScripts() async {
        await onOwnThread("device reload") { self.reloadChangedScriptsBlocking() }
    }

    /// Stops the watcher and every device (each gets its grace period, all at once).
    public func stopAll() async {
        await onOwnThread("device stop") { self.stopAllBlocking() }
    }

    /// Starts the watcher thread: script files are checked every `interval` seconds and
    /// reloaded when changed; stuck scripts are reported within a tenth of a second. Until
    /// `stopAll()`.
    public func watchScripts(every interval: Double = 1) {
        watcher.withLock { watcher in
            guard watcher == nil else { return }
            let started = SupervisorWatcher()
            do {
                try started.start(interval: interval) { [weak self] checkScripts in
                    self?.tick(checkScripts: checkScripts)
                }
                watcher = started
            } catch {
                logger.error("cannot start the device watcher: \(error); script edits are not noticed")
            }
        }
    }

    // MARK: - Blocking work, on threads of our own

    func applyBlocking(_ specs: [DeviceSpec]) {
        operations.withLock { _ in
            let current = entries.withLock { $0 }
            let wanted = Set(specs.map(\.name))
            let removed = current.filter { !wanted.contains($0.key) }
            for name in removed.keys.sorted() { logger.info("removing device", metadata: ["device.name": "\(name)"]) }
            stopTogether(removed.values.map(\.runner))
            entries.withLock { entries in for name in removed.keys { entries.removeValue(forKey: name) } }
            for name in removed.keys { commands?.removeDevice(name) }
            for spec in specs { declareWritable(spec) }
            for spec in specs {
                if let existing = current[spec.name], existing.runner.spec == spec { continue }
                replace(spec, reason: current[spec.name] == nil ? "starting device" : "device changed")
            }
        }
    }

    func reloadChangedScriptsBlocking() {
        operations.withLock { _ in reloadChangedScriptsLocked() }
    }

    func stopAllBlocking() {
        watcher.withLock { watcher in
            defer { watcher = nil }
            return watcher
        }?.stop()
        operations.withLock { _ in
            let runners = entries.withLock { entries in
                defer { entries.removeAll() }
                return entries.values.map(\.runner)
            }
            stopTogether(runners)
            let stuck = abandoned.withLock { $0.filter { !$0.hasExited }.count }
            if stuck > 0 {
                logger.error("\(stuck) device thread(s) stuck in code the CPU guard cannot interrupt did not end")
            }
        }
    }

    /// With `operations` held.
    private func reloadChangedScriptsLocked() {
        let current = entries.withLock { $0 }
        for (_, entry) in current.sorted(by: { $0.key < $1.key }) {
            let now = FileFingerprint(path: entry.runner.spec.scriptPath)
            guard now != entry.fingerprint else { continue }
            entries.withLock { $0[entry.runner.spec.name]?.fingerprint = now }
            replace(entry.runner.spec, reason: "script changed")
        }
    }

    /// On the watcher thread: stuck checks every tick; script reloads when due, unless another
    /// operation is under way (then at the next tick).
    private func tick(checkScripts: Bool) {
        let runners = entries.withLock { $0.values.map(\.runner) }
        for runner in runners { runner.checkStuck() }
        abandoned.withLock { $0.removeAll { $0.hasExited } }
        if checkScripts {
            _ = operations.withLockIfAvailable { _ in reloadChangedScriptsLocked() }
        }
    }

    /// Tells the command router what `spec`'s device accepts; a channel another device owns is
    /// refused (and logged).
    private func declareWritable(_ spec: DeviceSpec) {
        guard let commands else { return }
        for path in commands.declare(device: spec.name, channels: spec.writable) {
            logger.error(
                "channel is already writable through another device; writes keep going there",
                metadata: ["device.name": "\(spec.name)", "channel.path": "\(path)"]
            )
        }
    }

    /// Stops `runners` in parallel from this one thread: all are asked at once, each gets its
    /// own grace period, the late ones are interrupted together, and those that still do not
    /// end are abandoned (and accounted for).
    private func stopTogether(_ runners: [DeviceRunner]) {
        guard !runners.isEmpty else { return }
        for runner in runners { runner.requestStop() }
        let graceDeadlines = runners.map(\.graceDeadline)
        var ended = zip(runners, graceDeadlines).map { $0.waitForExit(until: $1) }
        let late = runners.indices.filter { !ended[$0] }
        for index in late { runners[index].interrupt() }
        let interruptDeadlines = late.map { runners[$0].interruptDeadline }
        for (index, deadline) in zip(late, interruptDeadlines) {
            ended[index] = runners[index].waitForExit(until: deadline)
        }
        for (runner, didEnd) in zip(runners, ended) {
            runner.finishStop(ended: didEnd)
            if !didEnd { abandoned.withLock { $0.append(runner) } }
        }
    }

    /// Compiles the new script first; swaps only if it compiles. Call with `operations` held.
    private func replace(_ spec: DeviceSpec, reason: String) {
        let log = logger.with(device: spec.name)
        let old = entries.withLock { $0[spec.name] }
        let fingerprint = FileFingerprint(path: spec.scriptPath)
        do {
            try LuaState.compileCheck(
                try LuaState.readSource(spec.scriptPath),
                chunkName: DeviceRunner.chunkName(spec.script)
            )
        } catch {
            let running = old.map { $0.runner.state != .failed && $0.runner.state != .stopped } ?? false
            log.error(
                "\(reason): new script does not load; \(running ? "keeping the running version" : "device not started")",
                metadata: ["device.error": "\(error.message)"]
            )
            if let old, running {
                old.runner.reportReloadFailure(error.summary)
            } else {
                old?.runner.stop()
                old?.runner.markSuperseded()
                let runner = DeviceRunner(
                    spec: spec,
                    store: store,
                    logger: logger,
                    metrics: metrics,
                    commands: commands
                )
                runner.markFailed(error.summary)
                entries.withLock { $0[spec.name] = Entry(runner: runner, fingerprint: fingerprint) }
            }
            return
        }
        log.info("\(reason)", metadata: ["device.script": "\(spec.script)"])
        if let old {
            stopTogether([old.runner])
            old.runner.markSuperseded()
        }
        let predecessors =
            (old?.runner.unfinished ?? [])
            + abandoned.withLock { abandoned in
                abandoned.filter { $0.spec.name == spec.name && !$0.hasExited && $0 !== old?.runner }
            }
        let runner = DeviceRunner(
            spec: spec,
            store: store,
            logger: logger,
            metrics: metrics,
            commands: commands,
            predecessors: predecessors
        )
        entries.withLock { $0[spec.name] = Entry(runner: runner, fingerprint: fingerprint) }
        runner.start()
    }
}

extension Logger {
    func with(device name: String) -> Logger {
        var copy = self
        copy[metadataKey: "device.name"] = "\(name)"
        return copy
    }
}

/// Runs blocking `body` (joining device threads, waiting out grace periods) on a thread of its
/// own and resumes with its result, so that no thread of Swift's cooperative pool ever blocks.
/// If no thread can be started, `body` runs on the caller's thread rather than not at all.
private func onOwnThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        do {
            _ = try NamedThread(name: name, stackSize: 1 << 20) { continuation.resume(returning: body()) }
        } catch {
            continuation.resume(returning: body())
        }
    }
}
