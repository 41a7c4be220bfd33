import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// Configuration files beyond the documented limits, as the real binary meets them: `check`
/// and `run` refuse them with a located error (they used to segfault), and a SIGHUP reload of
/// one leaves a running hub running.
@Suite(.serialized) struct ConfigLimitsCommandTests {
    /// A temporary directory with `plugins/counter.lua`, removed by the caller.
    private func plant() throws -> String {
        let directory = NSTemporaryDirectory() + "plenum-limits-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: PlenumBinary.fixtures + "/plugins/counter.lua",
            toPath: directory + "/plugins/counter.lua"
        )
        return directory
    }

    /// One device whose params hold `depth` nested flow lists on one line (5 bytes of YAML per
    /// 2 levels: a 20 KB file at depth 10,000).
    private func deepConfig(depth: Int) -> String {
        "devices:\n  - name: a\n    script: plugins/counter.lua\n    prefix: /limits/a\n    params: {deep: "
            + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}\n"
    }

    private let deepError =
        "hub.yaml:5:80: devices[0].params.deep[0][0][0][0]… (56 more levels): lists and mappings nest more than "
        + "64 levels deep here; hub.yaml allows at most 64"

    @Test(arguments: [10_000, 50_000])
    func checkRefusesDeepParamsWithALocatedError(depth: Int) throws {
        let directory = try plant()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try deepConfig(depth: depth).write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let result = try PlenumBinary.run(["check"], in: directory, timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr == deepError + "\n1 problem in hub.yaml\n")
    }

    @Test(arguments: [10_000, 50_000])
    func runRefusesDeepParamsWithALocatedError(depth: Int) throws {
        let directory = try plant()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try deepConfig(depth: depth).write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let result = try PlenumBinary.run(["run", "--port", "0"], in: directory, timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr == deepError + "\nplenum: not starting: 1 problem(s) in hub.yaml\n")
    }

    @Test func checkRefusesACPUGuardTooShortToWork() throws {
        // 1.0e-10 s used to pass check and silently turn the guard off.
        let directory = try plant()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yaml =
            "devices:\n  - name: a\n    script: plugins/counter.lua\n    prefix: /limits/a\n"
            + "    limits:\n      cpu_guard_s: 1.0e-10\n      stop_grace_ms: 600000\n"
        try yaml.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let result = try PlenumBinary.run(["check"], in: directory, timeout: 20)
        #expect(result.status == 1)
        #expect(
            result.stderr == """
                hub.yaml:7:22: devices[0].limits.stop_grace_ms: 600000 is out of range; expected an integer from 0 to 60000
                hub.yaml:6:20: devices[0].limits.cpu_guard_s: 1.0e-10 is out of range; expected a number of seconds from 0.01 to 3600 (the guard cannot be turned off)
                2 problems in hub.yaml

                """
        )
    }

    @Test func checkRefusesAFileTooLargeWithoutReadingItAll() throws {
        let directory = try plant()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 8 MiB of one flow list: neither an alias bomb nor deep, just too large.
        let items = String(repeating: "1,", count: 4 << 20)
        try ("devices: []\nlist: [" + items + "1]\n").write(
            toFile: directory + "/hub.yaml",
            atomically: true,
            encoding: .utf8
        )
        let result = try PlenumBinary.run(["check"], in: directory, timeout: 20)
        #expect(result.status == 1)
        #expect(
            result.stderr == "hub.yaml:2:1048565: the file is larger than 1048576 bytes, the most hub.yaml may hold; "
                + "it goes past the limit here\n1 problem in hub.yaml\n"
        )
    }

    @Test func aSIGHUPReloadOfADeepFileKeepsTheHubServing() throws {
        let directory = try plant()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good =
            "devices:\n  - name: a\n    script: plugins/counter.lua\n    prefix: /limits/a\n"
            + "    params: {period_ms: 20}\n"
        try good.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--port", "0"], in: directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        #expect(try PythonClient.run("get", port: port, ["/healthz"])["status"] == .integer(200))

        for depth in [10_000, 50_000] {
            try deepConfig(depth: depth).write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
            let rejectionsBefore = hub.text.components(separatedBy: "reload rejected").count
            hub.signal(SIGHUP)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, hub.text.components(separatedBy: "reload rejected").count == rejectionsBefore {
                usleep(20_000)
            }
            #expect(hub.text.components(separatedBy: "reload rejected").count == rejectionsBefore + 1)
            #expect(try PythonClient.run("get", port: port, ["/healthz"])["status"] == .integer(200))
        }
        #expect(hub.text.contains(deepError))
        #expect(hub.text.contains("reload rejected: 1 problem(s) in hub.yaml; nothing changed"))
        // The device from the good file still publishes.
        let before = try PythonClient.run("get", port: port, ["/api/channels/limits/a/count"])["body"]?["version"]
        usleep(300_000)
        let after = try PythonClient.run("get", port: port, ["/api/channels/limits/a/count"])["body"]?["version"]
        #expect((after?.numberValue ?? 0) > (before?.numberValue ?? 0))
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }
}
