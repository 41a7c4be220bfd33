import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

@testable import PlenumDevices

/// Devices through the real runtime: OS threads, Lua states, the hub API, supervision.
@Suite struct DeviceRuntimeTests {
    @Test func publishReadAndWaitAcrossTwoDeviceThreads() async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("producer", script: "producer.lua"),
            DeviceHarness.spec("echo", script: "echo.lua", params: .object(["source": .string("/t/producer/value")])),
        ])
        #expect(await hub.eventually { hub.version("/t/echo/echo") >= 5 })
        let echo = try #require(hub.value("/t/echo/echo"))
        let value = try #require(echo["value"]?.numberValue)
        #expect(value.truncatingRemainder(dividingBy: 10) == 0)
        #expect(echo["ts_ok"] == .bool(true))
        #expect((echo["read_version"]?.numberValue ?? 0) * 10 >= value)
        #expect(hub.status("producer")?["state"] == .string("running"))
    }

    @Test func paramsAndRequireFromLib() async {
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("lib", script: "uses_lib.lua", params: .object(["raw": .integer(14)]))
        ]
        )
        #expect(await hub.eventually { hub.value("/t/lib/scaled") == .integer(42) })
    }

    @Test func badPublishesAreCatchableErrorsWithReasons() async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("pub", script: "bad_publish.lua")])
        #expect(await hub.eventually { hub.value("/t/pub/reasons") != nil })
        #expect(
            hub.value("/t/pub/reasons")
                == .array([
                    .string(
                        "bad_publish.lua:4: hub.publish: '/plenum/devices/x/status' is in /plenum/, which is reserved for the hub's own channels"
                    ),
                    .string(
                        "bad_publish.lua:5: hub.publish: 'bad//path' is not a valid channel path: the path has an empty segment ('//' or a trailing '/')"
                    ),
                    .string(
                        "bad_publish.lua:6: hub.publish: cannot publish the value: a function cannot be converted (only nil, booleans, numbers, strings and tables)"
                    ),
                    .string(
                        "bad_publish.lua:7: hub.publish: cannot publish the value: NaN is not a finite number (JSON has no NaN or infinity)"
                    ),
                ])
        )
    }

    /// Each fault ends with the other device still publishing and the status saying what happened.
    @Test(arguments: [
        ("syntax.lua", "failed", "syntax.lua:1: unexpected symbol near '='"),
        ("crash_at_load.lua", "backoff", "crash_at_load.lua:2: attempt to index a nil value (local 'config')"),
        ("crash_mid_run.lua", "backoff", "crash_mid_run.lua:4: attempt to index a nil value (local 't')"),
        ("spin.lua", "backoff", "CPU guard: the script ran too long without calling a blocking hub function"),
        ("bomb.lua", "backoff", "not enough memory"),
        ("pattern_bomb.lua", "backoff", "pattern_bomb.lua:1: CPU guard: the script ran too long"),
        ("finalizer.lua", "backoff", "finalizer.lua:1: setmetatable: __gc finalizers are not allowed"),
    ])
    func faultsAreContainedAndReported(script: String, state: String, error: String) async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("healthy", script: "producer.lua"),
            // A small heap cap, so the memory bomb meets it long before its CPU guard on a busy machine.
            DeviceHarness.spec("faulty", script: script) { $0.memoryLimit = 8 << 20 },
        ])
        #expect(await hub.eventually { hub.status("faulty")?["last_error"]?.stringValue?.contains(error) == true })
        #expect(await hub.eventually { hub.status("faulty")?["state"] == .string(state) })
        let before = hub.version("/t/healthy/value")
        #expect(await hub.eventually { hub.version("/t/healthy/value") > before + 3 })
        if state == "backoff" {
            #expect(await hub.eventually { (hub.status("faulty")?["restarts"]?.numberValue ?? 0) >= 1 })
        }
        #expect(hub.log.entries.contains { $0.contains("device.name=faulty") && $0.hasPrefix("error") })
    }

    @Test(arguments: [
        ("execute", "attempt to call a nil value (field 'execute')"),
        ("io_open", "attempt to index a nil value (global 'io')"),
        ("require_outside", "module '../../secret' not allowed"),
        ("bytecode", "attempt to call a nil value (field 'dump')"),
        ("load_binary", "load: only text chunks are allowed"),
        ("dofile", "attempt to call a nil value (global 'dofile')"),
    ])
    func sandboxEscapesFail(attempt: String, error: String) async {
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec("escape", script: "escape.lua", params: .object(["attempt": .string(attempt)]))
        ])
        #expect(await hub.eventually { hub.status("escape")?["last_error"]?.stringValue?.contains(error) == true })
        #expect(!FileManager.default.fileExists(atPath: "/tmp/plenum-escaped"))
    }

    @Test func aScriptIgnoringStopIsInterruptedAfterItsGrace() async throws {
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("stubborn", script: "stubborn.lua") { $0.cpuGuardSeconds = 60 }])
        #expect(await hub.eventually { hub.status("stubborn")?["state"] == .string("running") })
        // Timed on a thread of its own (a busy concurrency pool would only delay the test's
        // resumption, not the stop).
        let took = try await offPool {
            let start = Date()
            hub.supervisor.stopAllBlocking()
            return Date().timeIntervalSince(start)
        }
        #expect(took >= 0.4 && took < 3, "stop took \(took) s")
        #expect(hub.status("stubborn")?["state"] == .string("stopped"))
        #expect(hub.log.entries.contains { $0.contains("did not stop within its grace period") })
    }

    @Test func restartsBackOffExponentially() async throws {
        let hub = DeviceHarness()
        let recorder = try hub.record("/plenum/devices/crashy/status")
        await hub.supervisor.apply([DeviceHarness.spec("crashy", script: "crash_at_load.lua")])
        #expect(
            await hub.eventually {
                recorder.recorded.contains { $0["retry_in_s"] == .double(1.6) }
            }
        )
        await recorder.stop()
        let backoffs = recorder.recorded.compactMap { $0["retry_in_s"]?.numberValue }
        #expect(backoffs.prefix(4) == [0.2, 0.4, 0.8, 1.6])
    }

    @Test func reloadingAGoodScriptChangesBehaviourAndABadOneKeepsTheOld() async throws {
        let directory = NSTemporaryDirectory() + "plenum-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/version.lua"
        try String(contentsOfFile: fixturePlugins + "/version.lua", encoding: .utf8).write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("v", script: "version.lua", directory: directory)])
        #expect(await hub.eventually { hub.value("/t/v/version") == .string("v1") })

        try "while hub.sleep(0.02) do hub.publish('version', 'v2') end".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        await hub.supervisor.reloadChangedScripts()
        #expect(await hub.eventually { hub.value("/t/v/version") == .string("v2") })

        try "while hub.sleep(0.02) do hub.publish('version', 'v3') en".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        await hub.supervisor.reloadChangedScripts()
        #expect(
            await hub.eventually {
                hub.status("v")?["last_error"]?.stringValue?.hasPrefix(
                    "reload failed, previous version still running: version.lua:1:"
                ) == true
            }
        )
        let before = hub.version("/t/v/version")
        #expect(await hub.eventually { hub.version("/t/v/version") > before + 3 })
        #expect(hub.value("/t/v/version") == .string("v2"))
        #expect(hub.status("v")?["state"] == .string("running"))
    }

    @Test func applyAddsRemovesAndKeepsUnchangedDevices() async {
        let hub = DeviceHarness()
        let producer = DeviceHarness.spec("producer", script: "producer.lua")
        await hub.supervisor.apply([producer, DeviceHarness.spec("other", script: "version.lua")])
        #expect(await hub.eventually { hub.version("/t/other/version") > 0 && hub.version("/t/producer/value") > 0 })
        await hub.supervisor.apply([producer])
        #expect(hub.supervisor.deviceNames == ["producer"])
        #expect(await hub.eventually { hub.status("other")?["state"] == .string("stopped") })
        let restarts = hub.status("producer")?["restarts"]
        #expect(restarts == .integer(0))
    }

    /// Script files are bytes: a NUL inside one (in a string, in a comment) does not end it.
    @Test func aScriptHoldingNULBytesRunsWhole() async {
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("nul", script: "nul.lua")])
        #expect(await hub.eventually { hub.value("/t/nul/after") == .string("the whole file ran") })
        #expect(hub.value("/t/nul/length") == .integer(3))
    }

    /// A device whose script did not compile (`failed`) starts once the file is fixed; a later
    /// broken edit keeps the fixed version running and says so.
    @Test func aFailedDeviceStartsWhenItsScriptIsFixed() async throws {
        let directory = NSTemporaryDirectory() + "plenum-fix-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/fix.lua"
        try "local = 1".write(toFile: script, atomically: true, encoding: .utf8)
        let hub = DeviceHarness()
        await hub.supervisor.apply([DeviceHarness.spec("fix", script: "fix.lua", directory: directory)])
        #expect(hub.status("fix")?["state"] == .string("failed"))
        #expect(hub.status("fix")?["last_error"] == .string("fix.lua:1: <name> expected near '='"))

        try "while hub.sleep(0.02) do hub.publish('fixed', true) end".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        await hub.supervisor.reloadChangedScripts()
        #expect(await hub.eventually { hub.value("/t/fix/fixed") == .bool(true) })
        #expect(hub.status("fix")?["state"] == .string("running"))

        try "while hub.sleep(0.02) do hub.publish('fixed', false) en".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        await hub.supervisor.reloadChangedScripts()
        #expect(
            hub.status("fix")?["last_error"]?.stringValue?.hasPrefix(
                "reload failed, previous version still running: fix.lua:1:"
            ) == true
        )
        #expect(hub.status("fix")?["state"] == .string("running"))
        #expect(hub.value("/t/fix/fixed") == .bool(true))
    }
}
