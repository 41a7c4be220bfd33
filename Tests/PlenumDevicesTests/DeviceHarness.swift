import Foundation
import Logging
import PlenumCore
import PlenumTestSupport

@testable import PlenumDevices

let fixturePlugins = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/plugins"

/// A store and supervisor running fixture scripts, with the log recorded.
final class DeviceHarness: Sendable {
    let store = ChannelStore()
    let log = LogRecorder()
    let supervisor: DeviceSupervisor

    init() {
        supervisor = DeviceSupervisor(store: store, logger: log.logger())
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

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held. Sleeps
    /// without holding a thread of the concurrency pool.
    func eventually(timeout: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
