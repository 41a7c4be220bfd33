import Foundation
import Logging
import PlenumCore
import PlenumTestSupport
import ServiceLifecycle
import Synchronization
import Testing

@testable import PlenumDevices

/// The supervisor as a `Service`: it starts with `run()`, stops on graceful shutdown or
/// cancellation, and never blocks Swift's cooperative pool while it waits for device threads.
@Suite struct DeviceLifecycleTests {
    @Test func runStartsTheDevicesAndGracefulShutdownStopsThem() async throws {
        let store = ChannelStore()
        let log = LogRecorder()
        let supervisor = DeviceSupervisor(
            store: store,
            logger: log.logger(),
            devices: [DeviceHarness.spec("producer", script: "producer.lua")]
        )
        #expect(supervisor.deviceNames.isEmpty)  // nothing starts in init
        let group = ServiceGroup(services: [supervisor], logger: log.logger())
        let running = Task { try await group.run() }
        let status = try ChannelPath("/plenum/devices/producer/status")
        #expect(await eventually { store.latest(status)?.value["state"] == .string("running") })
        #expect(supervisor.deviceNames == ["producer"])
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(store.latest(status)?.value["state"] == .string("stopped"))
        #expect(supervisor.deviceNames.isEmpty)
    }

    @Test func cancellingRunStopsTheDevices() async throws {
        let store = ChannelStore()
        let supervisor = DeviceSupervisor(
            store: store,
            logger: LogRecorder().logger(),
            devices: [DeviceHarness.spec("producer", script: "producer.lua")]
        )
        let running = Task { try await supervisor.run() }
        let status = try ChannelPath("/plenum/devices/producer/status")
        #expect(await eventually { store.latest(status)?.value["state"] == .string("running") })
        running.cancel()
        try await running.value
        #expect(store.latest(status)?.value["state"] == .string("stopped"))
    }

    /// More supervisors than the pool has threads each stop a device that ignores its stop until
    /// the test opens a gate: meanwhile other async work must run. Were the waits on the pool,
    /// every pool thread would block and the work could not run until a watchdog thread (not on
    /// the pool) gave up and opened the gate after 30 s.
    @Test func aDeviceIgnoringItsStopDoesNotBlockTheCooperativePool() async throws {
        let hubs = (0...ProcessInfo.processInfo.activeProcessorCount).map { _ in DeviceHarness() }
        for hub in hubs {
            await hub.supervisor.apply([
                DeviceHarness.spec("gated", script: "gated.lua") { $0.stopGraceSeconds = 120 }
            ])
            #expect(await hub.eventually { hub.value("/t/gated/ready") == .bool(true) })
        }
        let gate = try ChannelPath("/gate/open")
        let watchdogFired = Atomic<Bool>(false)
        let workDone = Atomic<Bool>(false)
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(30)
            while !workDone.load(ordering: .relaxed) && Date() < deadline { usleep(10_000) }
            if !workDone.load(ordering: .relaxed) { watchdogFired.store(true, ordering: .relaxed) }
            for hub in hubs { hub.store.publish(gate, .bool(true)) }
        }
        let stopping = Task {
            await withTaskGroup(of: Void.self) { group in
                for hub in hubs { group.addTask { await hub.supervisor.stopAll() } }
            }
        }
        let sum = await withTaskGroup(of: Int.self) { group in
            for i in 0..<200 {
                group.addTask {
                    await Task.yield()
                    return i
                }
            }
            return await group.reduce(0, +)
        }
        #expect(sum == 19_900)
        #expect(hubs.allSatisfy { $0.status("gated")?["state"] == .string("running") })
        workDone.store(true, ordering: .relaxed)
        await stopping.value
        let waited = watchdogFired.load(ordering: .relaxed)
        #expect(!waited, "the async work waited for the stops")
        #expect(hubs.allSatisfy { $0.status("gated")?["state"] == .string("stopped") })
    }

    private func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
