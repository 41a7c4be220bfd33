import CoreMetrics
import Glibc
import Logging
import PlenumCore
import PlenumLua
import Synchronization

/// One instance of a device: its own OS thread, running its script in a fresh `lua_State` and
/// restarting it with exponential backoff when it fails. Publishes its status after every change.
///
/// Stopping is split into phases (`requestStop`, `waitForExit`, `interrupt`, `finishStop`) so the
/// supervisor can stop many devices in parallel from one thread of its own. A thread that does
/// not end even when interrupted (stuck in a C function the CPU guard cannot reach) is abandoned,
/// counted in `plenum_device_stuck` until it ends, and the next instance of the device waits
/// for it before running the script: a device never runs two copies of its script, however
/// often it is reloaded.
final class DeviceRunner: Sendable {
    let spec: DeviceSpec
    private let store: ChannelStore
    private let logger: Logger
    private let signal = DeviceSignal()
    /// The running state's stop handle (nil between runs).
    private let stopHandle = Mutex<LuaStopHandle?>(nil)
    private let exited = Latch()
    private let metrics: DeviceMetrics
    /// Earlier instances of this device that had not ended when this one was made.
    private let predecessors: [DeviceRunner]
    /// Status, and whether this instance may still publish it: once retired (its stop finished
    /// or gave up) it publishes nothing, so it never overwrites a successor's status. Published
    /// under the lock, so retiring orders every publish of this instance before the next one's.
    private let statusBox: Mutex<(status: DeviceStatus, published: Bool, retired: Bool, superseded: Bool)>
    /// The watchdog has reported the script stuck (cleared when the run ends).
    private let stuck = Atomic<Bool>(false)
    /// A stop gave up waiting for this thread.
    private let abandoned = Atomic<Bool>(false)
    /// Where clients' writes to this device wait (nil: the hub takes no writes).
    private let commands: CommandRouter?
    /// The running script's place at its mailbox (nil between runs): writes are accepted
    /// only while a script runs.
    private let lease = Mutex<CommandLease?>(nil)

    init(
        spec: DeviceSpec,
        store: ChannelStore,
        logger: Logger,
        metrics factory: any MetricsFactory,
        commands: CommandRouter? = nil,
        predecessors: [DeviceRunner] = []
    ) {
        self.commands = commands
        self.spec = spec
        self.store = store
        self.metrics = DeviceMetrics(device: spec.name, factory: factory)
        self.logger = logger.with(device: spec.name)
        self.predecessors = predecessors
        var status = DeviceStatus(
            state: .starting,
            restarts: 0,
            lastError: nil,
            script: spec.script,
            prefix: spec.prefix.string
        )
        for channel in spec.writable { status.writable[channel.path.string] = DeviceStatus.describe(channel) }
        statusBox = Mutex((status, false, false, false))
    }

    var hasExited: Bool { exited.isSet }

    /// What a new instance of this device must wait for: this one and its predecessors, those
    /// whose threads have not ended.
    var unfinished: [DeviceRunner] { ([self] + predecessors).filter { !$0.hasExited } }

    /// A newer instance now owns the status channel.
    func markSuperseded() { statusBox.withLock { $0.superseded = true } }

    var state: DeviceStatus.State { statusBox.withLock { $0.status.state } }

    /// Starts the device thread.
    func start() {
        publishStatus { $0.state = .starting }
        commands?.setUnavailable(spec.name, reason: "is starting")
        do {
            _ = try NamedThread(name: spec.name, stackSize: 1 << 20) { [self] in
                superviseLoop()
                threadEnded()
            }
        } catch {
            logger.error("cannot start the device's thread: \(error)")
            markFailed("cannot start the device's thread: \(error)")
        }
    }

    // MARK: - Stopping

    /// Asks the script to stop: `hub.sleep` returns false, waits return `nil, "stopping"`. New
    /// writes are refused from now on; those the script took it may still answer.
    func requestStop() {
        signal.requestStop()
        if let current = lease.withLock({ $0 }) { commands?.stopAccepting(current, reason: "is stopping") }
    }

    /// When the grace period of a stop requested now ends.
    var graceDeadline: Deadline { (try? Deadline.now().adding(seconds: spec.stopGraceSeconds)) ?? .now() }

    /// How long an interrupted script gets to unwind: Lua code and pattern matching notice
    /// within microseconds, so only a C function that does not return takes longer.
    var interruptDeadline: Deadline {
        (try? Deadline.now().adding(seconds: max(spec.stopGraceSeconds, 0.5))) ?? .now()
    }

    /// True once the thread has ended; false if `deadline` passed first.
    func waitForExit(until deadline: Deadline) -> Bool { exited.wait(until: deadline) }

    /// The grace period is over: interrupt the script (it cannot catch this with `pcall`).
    func interrupt() {
        logger.warning("script did not stop within its grace period; interrupting it")
        stopHandle.withLock { $0?.requestStop() }
    }

    /// Publishes how the stop ended and retires this instance.
    func finishStop(ended: Bool) {
        if ended {
            publishStatus {
                $0.state = .stopped
                $0.retryInSeconds = nil
            }
        } else {
            abandoned.store(true, ordering: .relaxed)
            metrics.stuck.record(1)
            let position = stopHandle.withLock { $0?.activity.lastPosition }
            let message =
                "did not stop: stuck in code the CPU guard cannot interrupt"
                + (position.map { " (last seen at \($0))" } ?? "")
                + "; its thread is abandoned and counted in plenum_device_stuck until it returns"
            logger.error("device thread did not end; abandoning it", metadata: ["device.error": "\(message)"])
            publishStatus {
                $0.state = .stuck
                $0.lastError = message
                $0.retryInSeconds = nil
            }
        }
        statusBox.withLock { $0.retired = true }
    }

    /// A whole stop: request, grace period, interruption. Returns false if the thread did not end.
    @discardableResult
    func stop() -> Bool {
        requestStop()
        var ended = waitForExit(until: graceDeadline)
        if !ended {
            interrupt()
            ended = waitForExit(until: interruptDeadline)
        }
        finishStop(ended: ended)
        return ended
    }

    /// A reload's new script did not compile: this (old) version keeps running; say so.
    func reportReloadFailure(_ summary: String) {
        publishStatus { $0.lastError = "reload failed, previous version still running: " + summary }
    }

    /// The device could not start at all (its script does not compile); it is not running.
    func markFailed(_ summary: String) {
        signal.requestStop()
        exited.open()
        commands?.setUnavailable(spec.name, reason: "failed to start (\(summary))")
        publishStatus {
            $0.state = .failed
            $0.lastError = summary
        }
    }

    // MARK: - Watching

    /// Called by the supervisor's watchdog thread ten times a second: reports a script that has
    /// run for longer than `cpu_guard_s + stop_grace` without the guard stopping it, which
    /// happens only inside a C function (the guard is checked between Lua instructions and
    /// while patterns match).
    func checkStuck() {
        guard spec.cpuGuardSeconds > 0, let activity = stopHandle.withLock({ $0?.activity }) else { return }
        let limit = spec.cpuGuardSeconds + spec.stopGraceSeconds
        guard activity.isRunning, !activity.isBlocking, activity.secondsSinceYield > limit else { return }
        guard !stuck.exchange(true, ordering: .relaxed) else { return }
        metrics.stuck.record(1)
        let seconds = (activity.secondsSinceYield * 10).rounded() / 10
        let message =
            "stuck for \(seconds) s in code the CPU guard cannot interrupt"
            + (activity.lastPosition.map { " (last seen at \($0))" } ?? "")
            + "; it is stopped as soon as that code returns"
        logger.error("script stuck", metadata: ["device.error": "\(message)"])
        publishStatus {
            $0.state = .stuck
            $0.lastError = message
        }
    }

    private func clearStuck() {
        if stuck.exchange(false, ordering: .relaxed) { metrics.stuck.record(0) }
    }

    // MARK: - The device thread

    /// Applies `change` and publishes the status when it changed (or was never published).
    private func publishStatus(_ change: (inout DeviceStatus) -> Void) {
        statusBox.withLock { box in
            guard !box.retired else { return }
            let before = box.status
            change(&box.status)
            guard box.status != before || !box.published else { return }
            box.published = true
            store.publish(spec.statusPath, box.status.json)
        }
    }

    private func threadEnded() {
        clearStuck()
        if abandoned.load(ordering: .relaxed) {
            metrics.stuck.record(0)
            logger.warning("the abandoned device thread has ended")
            // Removed rather than replaced: nobody else will say that it stopped.
            statusBox.withLock { box in
                guard !box.superseded else { return }
                box.status.state = .stopped
                box.status.lastError = nil
                store.publish(spec.statusPath, box.status.json)
            }
        }
        exited.open()
    }

    /// Waits (stoppably) for earlier instances of this device that have not ended.
    private func waitForPredecessors() -> Bool {
        let pending = predecessors.filter { !$0.hasExited }
        guard !pending.isEmpty else { return true }
        let message =
            "waiting for the previous instance of this device, stuck in code the CPU guard cannot interrupt, to end"
        logger.warning("\(message)")
        publishStatus {
            $0.state = .stuck
            $0.lastError = message
        }
        for predecessor in pending {
            while !predecessor.waitForExit(until: Deadline.now().adding(nanoseconds: 100_000_000)) {
                if signal.isStopping { return false }
            }
        }
        return true
    }

    private func superviseLoop() {
        guard waitForPredecessors() else { return }
        var failures = 0
        while !signal.isStopping {
            let started = Deadline.now()
            let outcome = runOnce()
            clearStuck()
            switch outcome {
            case .finished: detachCommands(signal.isStopping ? "stopped" : "stopped (its script returned)")
            case .failed(let error): detachCommands("crashed (\(error.summary))")
            }
            if signal.isStopping { break }
            switch outcome {
            case .finished:
                logger.info("script returned; the device is stopped")
                publishStatus {
                    $0.state = .stopped
                    $0.retryInSeconds = nil
                }
                return
            case .failed(let error):
                let ran = Double(Deadline.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                if ran >= spec.stableSeconds { failures = 0 }
                failures += 1
                metrics.errors.increment()
                if error.code == .cpuGuard { metrics.cpuGuardTrips.increment() }
                let delay = min(spec.maxBackoffSeconds, spec.backoffSeconds * pow(2, Double(min(failures, 64) - 1)))
                logger.error(
                    "script failed; restarting in \(delay) s",
                    metadata: ["device.error": "\(error.code.rawValue)", "device.traceback": "\(error.message)"]
                )
                publishStatus {
                    $0.state = .backoff
                    $0.lastError = error.summary
                    $0.retryInSeconds = delay
                }
                commands?.setUnavailable(
                    spec.name,
                    reason: "is restarting after an error (\(error.summary)); next attempt in \(delay) s"
                )
                guard signal.sleep(until: (try? Deadline(seconds: delay)) ?? .now()) else { break }
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

    /// Ends the run's place at the mailbox: writes it has not answered are answered
    /// `device_unavailable` ("device 'x' <reason> before it answered").
    private func detachCommands(_ reason: String) {
        guard
            let current = lease.withLock({ lease in
                defer { lease = nil }
                return lease
            })
        else { return }
        commands?.detach(current, reason: reason)
    }

    /// One run of the script in a fresh state, on this thread.
    private func runOnce() -> Outcome {
        let context = DeviceContext(
            spec: spec,
            store: store,
            logger: logger,
            signal: signal,
            metrics: metrics,
            commands: commands
        )
        defer { context.closeAllPorts() }
        do {
            let state = try LuaState(memoryLimit: spec.memoryLimit, cpuGuard: spec.cpuGuardSeconds)
            try LuaSandbox.apply(to: state, libraryPath: spec.libraryPath)
            try HubAPI.register(in: state, context: context)
            let source = try LuaState.readSource(spec.scriptPath)
            stopHandle.withLock { $0 = state.stopHandle }
            defer { stopHandle.withLock { $0 = nil } }
            if signal.isStopping { return .finished }
            if let commands {
                let attached = commands.attach(device: spec.name) { [signal] in signal.poke() }
                lease.withLock { $0 = attached }
                context.lease = attached
                // A stop requested since the check above found no lease to refuse writes with.
                if signal.isStopping { commands.stopAccepting(attached, reason: "is stopping") }
            }
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
