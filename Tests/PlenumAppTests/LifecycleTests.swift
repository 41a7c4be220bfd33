import Foundation
import PlenumApp
import PlenumConfig
import PlenumCore
import PlenumTestSupport
import Synchronization
import Testing

/// The composition root's services, in process: start order, shutdown order, and blocking work
/// kept off Swift's cooperative pool.
@Suite struct LifecycleTests {
    private static let stubborn = """
        devices:
          - name: stubborn
            script: plugins/stubborn.lua
            prefix: /stubborn
            limits: {stop_grace_ms: 60000}
        """

    @Test func clientsGet1001BeforeDevicesStopAndAStubbornDeviceDoesNotHoldTheServer() async throws {
        let hub = try await InProcessHub(yaml: Self.stubborn)
        #expect(await waitUntil { hub.value("/stubborn/n") != nil })
        let marker = NSTemporaryDirectory() + "plenum-order-\(UUID().uuidString)"
        async let seen = offPool {
            try PythonClient.run("values_until_close", port: hub.port, ["/plenum/devices/stubborn/**", marker])
        }
        #expect(await waitForFile(marker))
        async let ended = hub.shutdown()
        let client = try await seen
        // The server closed this client while the device was still running (it does not stop
        // until released): the client never saw the device leave `running`.
        #expect(client["code"] == .integer(1001))
        #expect(client["last"]?["/plenum/devices/stubborn/status"]?["state"] == .string("running"))
        #expect(hub.value("/plenum/devices/stubborn/status")?["state"] == .string("running"))
        hub.hub.store.publish(try ChannelPath("/control/release"), .bool(true))
        #expect(await ended == nil)
        #expect(hub.value("/plenum/devices/stubborn/status")?["state"] == .string("stopped"))
    }

    @Test func stoppingASlowDeviceLeavesThePoolAndTheServerFree() async throws {
        let directory = NSTemporaryDirectory() + "plenum-pool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let emptied = directory + "/hub.yaml"
        try "devices: []\n".write(toFile: emptied, atomically: true, encoding: .utf8)
        let hub = try await InProcessHub(yaml: Self.stubborn, configPath: emptied)
        #expect(await waitUntil { hub.value("/stubborn/n") != nil })

        // More reloads than the pool has threads, each waiting for the stubborn device to stop,
        // which it does only when the test releases it. Were that wait on the pool, nothing below
        // could run.
        let reloadsDone = Flag()
        let reloads = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0...ProcessInfo.processInfo.activeProcessorCount {
                    group.addTask {
                        await hub.hub.reload()
                        reloadsDone.set()
                    }
                }
            }
        }
        #expect(await waitUntil { hub.log.entries.contains { $0.contains("removing device") } })
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { try? await Task.sleep(for: .milliseconds(5)) } }
        }
        let answer = try await offPool { try PythonClient.run("get", port: hub.port, ["/api/channels"]) }
        #expect(answer["status"] == .integer(200))
        #expect(!reloadsDone.isSet)
        hub.hub.store.publish(try ChannelPath("/control/release"), .bool(true))
        await reloads.value
        #expect(hub.value("/plenum/devices/stubborn/status")?["state"] == .string("stopped"))
        #expect(await hub.shutdown() == nil)
    }

    @Test func aPortInUseEndsTheHubWithAnError() async throws {
        let first = try await InProcessHub(yaml: "devices: []\n")
        let yaml = "server: {port: \(first.port)}\ndevices: []\n"
        let config = try PlenumConfig.ConfigLoader.parse(
            Array(yaml.utf8),
            file: "hub.yaml",
            baseDirectory: InProcessHub.fixtures
        )
        let log = LogRecorder()
        let second = buildHub(configuration: config, logger: log.logger())
        await #expect(throws: (any Error).self) { try await second.run(logger: log.logger()) }
        #expect(await first.shutdown() == nil)
    }
}

/// Polls `condition` (bounded) without holding a pool thread between polls.
func waitUntil(timeout: Double = 20, _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Set from any task, read from another.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
