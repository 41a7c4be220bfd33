import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// Device scripts under the real `plenum run` binary (FoundationEssentials, release or debug
/// build as tested): what an integrator sees when they edit scripts and when scripts misbehave.
@Suite(.serialized) struct DeviceEndToEndTests {
    /// Editing a script reloads it within a second: by rename (editors) and in place, with the
    /// same size. A broken edit keeps the running version and says so; a device that failed to
    /// compile starts once its file is fixed.
    @Test func editingAScriptReloadsItInTheRunningHub() async throws {
        let yaml = """
            devices:
              - name: edit
                script: plugins/edit.lua
                prefix: /e/edit
              - name: broken
                script: plugins/broken.lua
                prefix: /e/broken

            """
        let loop = "while hub.sleep(0.05) do hub.publish('version', '%@') end"
        let directory = try HubDirectory(
            yaml: yaml,
            scripts: ["edit.lua": loop.replacingOccurrences(of: "%@", with: "v1"), "broken.lua": "local = 1"]
        )
        #expect(try directory.start() != nil)
        #expect(await directory.eventually { directory.value("/e/edit/version") == .string("v1") })
        #expect(directory.status("broken")?["state"] == .string("failed"))
        #expect(directory.status("broken")?["last_error"] == .string("broken.lua:1: <name> expected near '='"))

        try directory.write("edit.lua", loop.replacingOccurrences(of: "%@", with: "v2"))
        #expect(await directory.eventually { directory.value("/e/edit/version") == .string("v2") })

        // Same size, same inode: only the modification time (to the nanosecond) changes.
        try directory.overwrite("edit.lua", loop.replacingOccurrences(of: "%@", with: "v3"))
        #expect(await directory.eventually { directory.value("/e/edit/version") == .string("v3") })

        try directory.write("edit.lua", "while hub.sleep(0.05) do hub.publish('version', 'v4') en")
        #expect(
            await directory.eventually {
                directory.status("edit")?["last_error"]?.stringValue?.hasPrefix(
                    "reload failed, previous version still running: edit.lua:1:"
                ) == true
            }
        )
        #expect(directory.status("edit")?["state"] == .string("running"))
        #expect(directory.value("/e/edit/version") == .string("v3"))

        try directory.write("broken.lua", "while hub.sleep(0.05) do hub.publish('fixed', true) end")
        #expect(await directory.eventually { directory.value("/e/broken/fixed") == .bool(true) })
        #expect(directory.status("broken")?["state"] == .string("running"))
        directory.hub?.signal(SIGTERM)
        #expect(directory.hub?.waitForExit() == 0)
    }

    /// `pcall(hub.sleep, 1e19)`, `hub.wait(…, math.huge)`, `1e300`, NaN timeouts on `/dev/ptmx`
    /// and opening files that are not serial devices: the hub lives on, each gets its answer,
    /// and a stop still ends every device.
    @Test func hugeAndInvalidDurationsAndPathsDoNotKillTheHub() async throws {
        let yaml = """
            devices:
              - name: sleeper
                script: plugins/durations.lua
                prefix: /e/sleeper
                params: {mode: sleep}
              - name: waiter
                script: plugins/durations.lua
                prefix: /e/waiter
                params: {mode: wait}
              - name: long-waiter
                script: plugins/durations.lua
                prefix: /e/long
                params: {mode: long}
              - name: ports
                script: plugins/ports.lua
                prefix: /e/ports

            """
        let directory = try HubDirectory(yaml: yaml, fixtures: ["durations.lua", "ports.lua"])
        #expect(try directory.start() != nil)
        let nan = "the duration is NaN; expected a number of seconds (math.huge for no limit)"
        for prefix in ["/e/sleeper", "/e/waiter", "/e/long"] {
            #expect(await directory.eventually { directory.value(prefix + "/blocked") == .bool(true) })
            #expect(
                directory.value(prefix + "/reasons")
                    == .array([
                        .string("bad argument #1 to 'hub.sleep' (\(nan))"),
                        .string(
                            "bad argument #1 to 'hub.sleep' (the duration -1.0 is negative; expected 0 or more seconds)"
                        ),
                        .string("bad argument #3 to 'hub.wait' (\(nan))"),
                    ])
            )
        }
        #expect(await directory.eventually { directory.value("/e/ports/said") != nil })
        #expect(
            directory.value("/e/ports/said")
                == .array([
                    .string("bad argument #1 to 'read_line' (\(nan))"),
                    .string("bad argument #2 to 'read' (\(nan))"),
                    .string("hub.serial.open: cannot open /etc/passwd: not a serial device"),
                    .string("hub.serial.open: cannot open /etc: not a serial device"),
                    .string("hub.serial.open: cannot open /nonexistent/ttyUSB9: not a serial device"),
                ])
        )
        for device in ["sleeper", "waiter", "long-waiter", "ports"] {
            #expect(directory.status(device)?["state"] == .string("running"), "\(device)")
        }
        #expect(HTTP.get(port: directory.port, "/healthz")?.status == 200)
        directory.hub?.signal(SIGTERM)
        #expect(directory.hub?.waitForExit() == 0)
    }

    /// Copies of an 8 MB channel count against `memory_mb`: the device fails with "not enough
    /// memory" at its line, logged with a traceback, and the hub's memory stays bounded (before,
    /// it passed 1 GB).
    @Test func hostDataCountsAgainstTheMemoryCapAndTheHubStaysSmall() async throws {
        let yaml = """
            devices:
              - name: hoard
                script: plugins/hoard.lua
                prefix: /e/hoard
                limits: {memory_mb: 64}

            """
        let directory = try HubDirectory(yaml: yaml, fixtures: ["hoard.lua"])
        #expect(try directory.start() != nil)
        #expect(
            await directory.eventually {
                directory.status("hoard")?["last_error"]?.stringValue?.hasPrefix("hoard.lua:5: not enough memory")
                    == true
            }
        )
        #expect(directory.value("/e/hoard/kept") == nil)
        let hub = try #require(directory.hub)
        #expect(hub.waitFor("device.traceback=hoard.lua:5: not enough memory[^\\n]*\\nstack traceback:") != nil)
        let status = try String(contentsOfFile: "/proc/\(hub.pid)/status", encoding: .utf8)
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        let kilobytes = Int(peak?.split(separator: " ").dropFirst().first ?? "") ?? .max
        #expect(kilobytes < 300 * 1024, "peak RSS \(kilobytes) kB")
    }

    /// Pattern matching and finalizers are under the CPU guard; a script stuck in a C function
    /// is visible: status `stuck`, a log line, and `plenum_device_stuck` on /metrics.
    @Test func runawayScriptsAreStoppedOrReportedStuck() async throws {
        let yaml = """
            devices:
              - name: patterns
                script: plugins/pattern_bomb.lua
                prefix: /e/patterns
                limits: {cpu_guard_s: 0.5}
              - name: finalizer
                script: plugins/finalizer.lua
                prefix: /e/finalizer
                limits: {cpu_guard_s: 0.5}
              - name: sorter
                script: plugins/sorter.lua
                prefix: /e/sorter
                params: {n: 4000000}
                limits: {cpu_guard_s: 0.5, stop_grace_ms: 50, memory_mb: 256}

            """
        let directory = try HubDirectory(yaml: yaml, fixtures: ["pattern_bomb.lua", "finalizer.lua", "sorter.lua"])
        #expect(try directory.start() != nil)
        #expect(
            await directory.eventually {
                directory.status("patterns")?["last_error"]?.stringValue?.hasPrefix("pattern_bomb.lua:1: CPU guard")
                    == true
            }
        )
        #expect(
            await directory.eventually {
                directory.status("finalizer")?["last_error"]?.stringValue?.hasPrefix(
                    "finalizer.lua:1: setmetatable: __gc finalizers are not allowed"
                ) == true
            }
        )
        let hub = try #require(directory.hub)
        let stuck =
            "device.error=stuck for [0-9.]+ s in code the CPU guard cannot interrupt \\(last seen at sorter.lua:[0-9]+\\)"
        #expect(hub.waitFor(stuck + "[^\\n]*device.name=sorter [^\\n]*script stuck") != nil)
        let metrics = HTTP.get(port: directory.port, "/metrics")?.body ?? ""
        #expect(metrics.contains("plenum_device_stuck{device=\"sorter\"} 1"), "\(metrics)")
        directory.hub?.signal(SIGTERM)
        #expect(directory.hub?.waitForExit() == 0)
    }

    /// A binary frame through a pseudo-terminal and back: bytes ≥ 0x80 and NUL unchanged.
    @Test func aBinaryFrameCrossesASerialPortUnchanged() async throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        #expect(openpty(&master, &slave, &name, nil, nil) == 0)
        defer { close(master) }
        close(slave)
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let yaml = """
            devices:
              - name: frame
                script: plugins/echo_frame.lua
                prefix: /e/frame
                params: {port: \(slavePath)}

            """
        let directory = try HubDirectory(yaml: yaml, fixtures: ["echo_frame.lua"])
        #expect(try directory.start() != nil)
        #expect(await directory.eventually { directory.value("/e/frame/open") == .bool(true) })
        let frame: [UInt8] = [0x00, 0xC5, 0xCD, 0xFF, 0x80]
        _ = frame.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
        #expect(await directory.eventually { directory.value("/e/frame/frame") != nil })
        #expect(directory.value("/e/frame/frame") == .array(frame.map { .integer(Int64($0)) }))
        var echoed: [UInt8] = []
        let deadline = Date().addingTimeInterval(5)
        while echoed.count < 5 && Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                var buffer = [UInt8](repeating: 0, count: 16)
                let n = read(master, &buffer, 5 - echoed.count)
                if n > 0 { echoed += buffer[0..<n] }
            }
        }
        #expect(echoed == frame)
    }
}
