import Foundation
import PlenumCore
import Testing

@testable import PlenumDevices

/// Durations, memory and CPU limits as a device script meets them.
@Suite struct DeviceLimitsTests {
    /// `math.huge` (and anything huge) means no limit; NaN and negative durations are errors
    /// naming the argument. Before: 1e19 or math.huge killed the whole hub.
    @Test func hugeDurationsMeanNoLimitAndBadOnesAreErrors() async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("durations", script: "durations.lua")])
        #expect(await hub.eventually { hub.value("/t/durations/reasons") != nil })
        let nan = "the duration is NaN; expected a number of seconds (math.huge for no limit)"
        let negative = "the duration -1.0 is negative; expected 0 or more seconds"
        #expect(
            hub.value("/t/durations/reasons")
                == .array([
                    .string("bad argument #1 to 'hub.sleep' (\(nan))"),
                    .string("bad argument #3 to 'hub.wait' (\(nan))"),
                    .string("bad argument #1 to 'hub.sleep' (\(negative))"),
                    .string("bad argument #3 to 'hub.wait' (\(negative))"),
                    .string("bad argument #1 to 'hub.sleep' (number of seconds expected, got string)"),
                    .string("bad argument #3 to 'hub.wait' (number of seconds expected, got string)"),
                ])
        )
        // hub.wait(…, math.huge) waits until the channel changes.
        hub.store.publish(try ChannelPath("/t/durations/go"), .string("now"))
        #expect(await hub.eventually { hub.value("/t/durations/woke") == .string("now") })
        #expect(await hub.eventually { hub.value("/t/durations/woke_again") == .string("now") })
        // hub.sleep(1e19) sleeps until the device stops, then returns false.
        #expect(await hub.eventually { hub.value("/t/durations/sleeping") == .bool(true) })
        await hub.supervisor.stopAll()
        #expect(hub.value("/t/durations/slept") == .bool(false))
        #expect(hub.status("durations")?["state"] == .string("stopped"))
    }

    /// Sleeps and waits run on the monotonic clock: a deadline from `CLOCK_MONOTONIC` is waited
    /// for in full (a condition variable on the wall clock took it for a date in 1970 and
    /// returned at once).
    @Test func waitsRunOnTheMonotonicClock() throws {
        let signal = DeviceSignal()
        let start = Deadline.now()
        #expect(signal.sleep(until: try start.adding(seconds: 0.2)))
        #expect(Deadline.now().uptimeNanoseconds - start.uptimeNanoseconds >= 200_000_000)
        let generation = signal.currentGeneration
        #expect(signal.waitForPoke(after: generation, until: try Deadline.now().adding(seconds: 0.1)) == generation)
        #expect(Deadline.now().uptimeNanoseconds - start.uptimeNanoseconds >= 300_000_000)
    }

    /// Each `hub.read` of an 8 MB channel hands the script a fresh copy: the copies count
    /// against `memory_mb`, and the failure says where, with a traceback.
    @Test func whatHostFunctionsHandBackCountsAgainstTheMemoryCap() async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("hoard", script: "hoard.lua") { $0.memoryLimit = 64 << 20 },
            DeviceHarness.spec("healthy", script: "producer.lua"),
        ])
        #expect(
            await hub.eventually {
                hub.status("hoard")?["last_error"]?.stringValue?.hasPrefix("hoard.lua:5: not enough memory") == true
            }
        )
        #expect(hub.value("/t/hoard/kept") == nil)
        #expect(hub.log.entries.contains { $0.contains("device.name=hoard") && $0.contains("stack traceback:") })
        let before = hub.version("/t/healthy/value")
        #expect(await hub.eventually { hub.version("/t/healthy/value") > before + 3 })
    }

    /// A memory-cap failure is logged like any other error: file:line and a traceback.
    @Test func memoryCapFailuresAreLoggedWithFileLineAndTraceback() async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("bomb", script: "bomb.lua") { $0.cpuGuardSeconds = 10 }])
        #expect(await hub.eventually { hub.status("bomb")?["state"] == .string("backoff") })
        #expect(
            hub.status("bomb")?["last_error"]
                == .string("bomb.lua:5: not enough memory (the script's heap reached its memory_mb limit of 16 MB)")
        )
        let line = try #require(hub.log.entries.first { $0.contains("device.name=bomb") && $0.hasPrefix("error") })
        #expect(line.contains("device.error=memory"))
        #expect(line.contains("stack traceback:"))
        #expect(line.contains("bomb.lua:5: in main chunk"))
    }

    /// Sorting 2.5 million numbers is one C call the CPU guard cannot interrupt: the device is
    /// reported `stuck` with where it was, and the guard stops it as soon as the call returns.
    @Test func aScriptStuckInACFunctionIsReported() async throws {
        let hub = DeviceHarness()
        let recorder = try hub.record("/plenum/devices/sorter/status")
        await hub.supervisor.apply([Self.sorter(n: 2_500_000)])
        hub.supervisor.watchScripts(every: 60)
        _ = await hub.eventually(timeout: 60) {
            recorder.recorded.contains { $0["state"] == .string("backoff") }
        }
        await recorder.stop()
        let states = recorder.recorded
        let stuck = try #require(states.first { $0["state"] == .string("stuck") }, "\(states)")
        let message = try #require(stuck["last_error"]?.stringValue)
        #expect(message.hasPrefix("stuck for "))
        #expect(message.contains("s in code the CPU guard cannot interrupt (last seen at sorter.lua:"))
        let backoff = states.last { $0["state"] == .string("backoff") }?["last_error"]?.stringValue ?? ""
        // As soon as the C code returns, the guard stops the script (at the hub call after it,
        // or at the next Lua instruction).
        #expect(backoff.hasPrefix("sorter.lua:") && backoff.contains(": CPU guard"), "\(states.map(\.jsonString))")
        #expect(hub.log.entries.contains { $0.hasPrefix("error script stuck") && $0.contains("device.name=sorter") })
    }

    /// Reloading a device whose thread is stuck in C abandons that thread (it is accounted
    /// for) and the new instance waits for it: never more than one thread of the device runs
    /// the script, however often it is reloaded.
    @Test func reloadingAStuckDeviceDoesNotPileUpThreads() async throws {
        let directory = NSTemporaryDirectory() + "plenum-stuck-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/sorter.lua"
        try FileManager.default.copyItem(atPath: fixturePlugins + "/sorter.lua", toPath: script)
        let hub = DeviceHarness()
        await hub.supervisor.apply([Self.sorter("resorter", n: 4_000_000, directory: directory)])
        hub.supervisor.watchScripts(every: 60)
        #expect(await hub.eventually { hub.status("resorter")?["state"] == .string("stuck") })
        var most = 0
        for edit in 1...3 {
            try (String(contentsOfFile: script, encoding: .utf8) + "-- edit \(edit)\n").write(
                toFile: script,
                atomically: true,
                encoding: .utf8
            )
            await hub.supervisor.reloadChangedScripts()
            most = max(most, Self.threads(named: "resorter"))
        }
        #expect(most <= 2, "\(most) threads of the device")
        #expect(hub.log.entries.contains { $0.contains("device thread did not end; abandoning it") })
        // Once the abandoned call returns, the newest instance runs the script.
        #expect(
            await hub.eventually(timeout: 30) {
                hub.value("/t/resorter/sorted") != nil || hub.status("resorter")?["state"] == .string("running")
            }
        )
        #expect(Self.threads(named: "resorter") <= 2)
    }

    static func sorter(_ name: String = "sorter", n: Int, directory: String = fixturePlugins) -> DeviceSpec {
        DeviceHarness.spec(name, script: "sorter.lua", params: .object(["n": .integer(Int64(n))]), directory: directory)
        {
            $0.cpuGuardSeconds = 0.2
            $0.stopGraceSeconds = 0.05
            $0.memoryLimit = 160 << 20
        }
    }

    /// Threads of this process named `name` (device threads carry their device's name).
    static func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .newlines) == name
        }.count
    }
}
