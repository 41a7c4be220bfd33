import PlenumCore

/// The supervisor's own thread: ten times a second it asks every device whether its script is
/// stuck, and every `interval` seconds whether a script file changed. Started by
/// `DeviceSupervisor.watchScripts`, stopped (and waited for) by `stop()`.
final class SupervisorWatcher: Sendable {
    private let signal = DeviceSignal()
    private let exited = Latch()

    /// Starts the thread; `tick(checkScripts)` runs on it until `stop()`.
    func start(interval: Double, tick: @escaping @Sendable (_ checkScripts: Bool) -> Void) throws(SystemError) {
        let signal = self.signal
        let exited = self.exited
        let period: UInt64 = 100_000_000
        let scriptPeriod = (try? Deadline(uptimeNanoseconds: 0).adding(seconds: interval))?.uptimeNanoseconds ?? period
        _ = try NamedThread(name: "device watcher", stackSize: 1 << 20) {
            var nextScriptCheck = Deadline.now().adding(nanoseconds: scriptPeriod)
            while signal.sleep(until: Deadline.now().adding(nanoseconds: period)) {
                let checkScripts = nextScriptCheck.hasPassed
                if checkScripts { nextScriptCheck = Deadline.now().adding(nanoseconds: scriptPeriod) }
                tick(checkScripts)
            }
            exited.open()
        }
    }

    /// Stops the thread and waits (bounded) until its current tick has finished.
    func stop() {
        signal.requestStop()
        _ = exited.wait(until: Deadline.now().adding(nanoseconds: 30_000_000_000))
    }
}
