import Foundation
import Logging
import PlenumCore
import PlenumTestSupport
import Synchronization

@testable import PlenumDevices

let fixturePlugins = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/plugins"

/// A store and supervisor running fixture scripts, with the log recorded.
final class DeviceHarness: Sendable {
    let store = ChannelStore()
    let log = LogRecorder()
    let supervisor: DeviceSupervisor

    /// `commands`: the router the devices take clients' writes from (none by default).
    init(commands: CommandRouter? = nil) {
        supervisor = DeviceSupervisor(store: store, logger: log.logger(), commands: commands)
    }

    /// Tests end with the devices stopped even if an expectation failed midway.
    deinit { supervisor.stopAllBlocking() }

    static func spec(
        _ name: String,
        script: String,
        params: JSONValue = .object([:]),
        directory: String = fixturePlugins,
        configure: (inout DeviceSpec) -> Void = { _ in }
    ) -> DeviceSpec {
        var spec = DeviceSpec(
            name: name,
            script: script,
            scriptPath: directory + "/" + script,
            prefix: try! ChannelPath("/t/\(name)"),
            params: params,
            memoryLimit: 16 << 20,
            cpuGuardSeconds: 0.5,
            stopGraceSeconds: 0.5
        )
        spec.backoffSeconds = 0.2
        configure(&spec)
        return spec
    }

    func value(_ path: String) -> JSONValue? { store.latest(try! ChannelPath(path))?.value }
    func version(_ path: String) -> UInt64 { store.latest(try! ChannelPath(path))?.version ?? 0 }
    func status(_ name: String) -> JSONValue? { value("/plenum/devices/\(name)/status") }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
    /// Polls on a thread of its own: a concurrency pool kept busy by other tests can delay when
    /// the test resumes, but not when the condition is checked.
    func eventually(timeout: Double = 10, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
        (try? await offPool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if condition() { return true }
                usleep(10_000)
            }
            return condition()
        }) ?? false
    }

    /// Records every value published to `pattern` from now on, drained on a thread of its own
    /// often enough that none is conflated away, until `stop()`.
    func record(_ pattern: String) throws -> ChannelRecorder {
        ChannelRecorder(store: store, feed: store.makeFeed(filter: try ChannelPattern(pattern)))
    }
}

/// Values published to some channels, in order (see `DeviceHarness.record`).
final class ChannelRecorder: Sendable {
    private let values = Mutex<[JSONValue]>([])
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)

    init(store: ChannelStore, feed: ChangeFeed) {
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                let changes = store.drain(feed).map(\.value)
                if !changes.isEmpty { values.withLock { $0 += changes } }
                usleep(2_000)
            }
            done.signal()
        }
    }

    var recorded: [JSONValue] { values.withLock { $0 } }

    func stop() async {
        running.store(false, ordering: .relaxed)
        _ = try? await offPool { [done] in done.wait() }
    }
}
