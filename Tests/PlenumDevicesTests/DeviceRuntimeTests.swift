import Foundation
import PlenumCore
import PlenumDevices
import Testing

/// Devices through the real runtime: OS threads, Lua states, the hub API, supervision.
@Suite struct DeviceRuntimeTests {
    @Test func publishReadAndWaitAcrossTwoDeviceThreads() throws {
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec("producer", script: "producer.lua"),
            DeviceHarness.spec("echo", script: "echo.lua", params: .object(["source": .string("/t/producer/value")])),
        ])
        #expect(hub.eventually { hub.version("/t/echo/echo") >= 5 })
        let echo = try #require(hub.value("/t/echo/echo"))
        let value = try #require(echo["value"]?.numberValue)
        #expect(value.truncatingRemainder(dividingBy: 10) == 0)
        #expect(echo["ts_ok"] == .bool(true))
        #expect((echo["read_version"]?.numberValue ?? 0) * 10 >= value)
        #expect(hub.status("producer")?["state"] == .string("running"))
    }

    @Test func paramsAndRequireFromLib() {
        let hub = DeviceHarness()
        hub.supervisor.apply([DeviceHarness.spec("lib", script: "uses_lib.lua", params: .object(["raw": .integer(14)]))]
        )
        #expect(hub.eventually { hub.value("/t/lib/scaled") == .integer(42) })
    }

    @Test func badPublishesAreCatchableErrorsWithReasons() throws {
        let hub = DeviceHarness()
        hub.supervisor.apply([DeviceHarness.spec("pub", script: "bad_publish.lua")])
        #expect(hub.eventually { hub.value("/t/pub/reasons") != nil })
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
    ])
    func faultsAreContainedAndReported(script: String, state: String, error: String) throws {
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec("healthy", script: "producer.lua"),
            DeviceHarness.spec("faulty", script: script),
        ])
        #expect(hub.eventually { hub.status("faulty")?["last_error"]?.stringValue?.contains(error) == true })
        #expect(hub.eventually { hub.status("faulty")?["state"] == .string(state) })
        let before = hub.version("/t/healthy/value")
        #expect(hub.eventually { hub.version("/t/healthy/value") > before + 3 })
        if state == "backoff" {
            #expect(hub.eventually { (hub.status("faulty")?["restarts"]?.numberValue ?? 0) >= 1 })
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
    func sandboxEscapesFail(attempt: String, error: String) {
        let hub = DeviceHarness()
        hub.supervisor.apply([
            DeviceHarness.spec("escape", script: "escape.lua", params: .object(["attempt": .string(attempt)]))
        ])
        #expect(hub.eventually { hub.status("escape")?["last_error"]?.stringValue?.contains(error) == true })
        #expect(!FileManager.default.fileExists(atPath: "/tmp/plenum-escaped"))
    }

    @Test func aScriptIgnoringStopIsInterruptedAfterItsGrace() {
        let hub = DeviceHarness()
        hub.supervisor.apply([DeviceHarness.spec("stubborn", script: "stubborn.lua") { $0.cpuGuardSeconds = 60 }])
        #expect(hub.eventually { hub.status("stubborn")?["state"] == .string("running") })
        let start = Date()
        hub.supervisor.stopAll()
        let took = Date().timeIntervalSince(start)
        #expect(took >= 0.4 && took < 3, "stop took \(took) s")
        #expect(hub.status("stubborn")?["state"] == .string("stopped"))
        #expect(hub.log.entries.contains { $0.contains("did not stop within its grace period") })
    }

    @Test func restartsBackOffExponentially() throws {
        let hub = DeviceHarness()
        let feed = hub.store.makeFeed(filter: try ChannelPattern("/plenum/devices/crashy/status"))
        hub.supervisor.apply([DeviceHarness.spec("crashy", script: "crash_at_load.lua")])
        var backoffs: [Double] = []
        let deadline = Date().addingTimeInterval(10)
        var lastRestarts = -1.0
        while backoffs.count < 4 && Date() < deadline {
            for change in hub.store.drain(feed) {
                guard let retry = change.value["retry_in_s"]?.numberValue,
                    let restarts = change.value["restarts"]?.numberValue, restarts != lastRestarts
                else { continue }
                lastRestarts = restarts
                backoffs.append(retry)
            }
            usleep(5_000)
        }
        #expect(backoffs == [0.2, 0.4, 0.8, 1.6])
    }

    @Test func reloadingAGoodScriptChangesBehaviourAndABadOneKeepsTheOld() throws {
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
        hub.supervisor.apply([DeviceHarness.spec("v", script: "version.lua", directory: directory)])
        #expect(hub.eventually { hub.value("/t/v/version") == .string("v1") })

        try "while hub.sleep(0.02) do hub.publish('version', 'v2') end".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        hub.supervisor.reloadChangedScripts()
        #expect(hub.eventually { hub.value("/t/v/version") == .string("v2") })

        try "while hub.sleep(0.02) do hub.publish('version', 'v3') en".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        hub.supervisor.reloadChangedScripts()
        #expect(
            hub.eventually {
                hub.status("v")?["last_error"]?.stringValue?.hasPrefix(
                    "reload failed, previous version still running: version.lua:1:"
                ) == true
            }
        )
        let before = hub.version("/t/v/version")
        #expect(hub.eventually { hub.version("/t/v/version") > before + 3 })
        #expect(hub.value("/t/v/version") == .string("v2"))
        #expect(hub.status("v")?["state"] == .string("running"))
    }

    @Test func applyAddsRemovesAndKeepsUnchangedDevices() {
        let hub = DeviceHarness()
        let producer = DeviceHarness.spec("producer", script: "producer.lua")
        hub.supervisor.apply([producer, DeviceHarness.spec("other", script: "version.lua")])
        #expect(hub.eventually { hub.version("/t/other/version") > 0 && hub.version("/t/producer/value") > 0 })
        hub.supervisor.apply([producer])
        #expect(hub.supervisor.deviceNames == ["producer"])
        #expect(hub.eventually { hub.status("other")?["state"] == .string("stopped") })
        let restarts = hub.status("producer")?["restarts"]
        #expect(restarts == .integer(0))
    }
}
