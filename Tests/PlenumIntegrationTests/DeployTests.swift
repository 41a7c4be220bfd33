import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// deploy/plenum.service as systemd sees it.
@Suite(.serialized) struct DeployTests {
    @Test func theSystemdUnitVerifiesCleanly() throws {
        let unit = try String(contentsOfFile: PythonClient.repositoryRoot + "/deploy/plenum.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/opt/plenum/plenum run --config /etc/plenum/hub.yaml"))
        // systemd-analyze checks that ExecStart exists: point it at the binary just built.
        let directory = NSTemporaryDirectory() + "plenum-unit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/plenum.service"
        try unit.replacingOccurrences(of: "/opt/plenum/plenum", with: PlenumBinary.path).write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        let result = try ChildProcess.run("/usr/bin/systemd-analyze", ["verify", path], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    /// The unit's `SystemCallFilter=`, `SystemCallErrorNumber=` and `MemoryDenyWriteExecute=`
    /// applied to the real binary (Tests/Deploy/syscall_filter.py installs the same seccomp
    /// filters systemd would; this machine cannot start the unit itself): the shipped plant runs —
    /// Lua scripts, Modbus over TCP, the trend database, WebSocket clients, a SIGHUP reload — and
    /// stops cleanly on SIGTERM. The filter is checked to bite, so the test cannot pass vacuously.
    @Test func theShippedPlantRunsUnderTheUnitsSystemCallFilter() throws {
        let filter = PythonClient.repositoryRoot + "/Tests/Deploy/syscall_filter.py"
        let unit = PythonClient.repositoryRoot + "/deploy/plenum.service"
        // Debian's python3-seccomp (make test-deps) serves /usr/bin/python3.
        let python = "/usr/bin/python3"
        let writableAndExecutable = try ChildProcess.run(
            python,
            [
                filter, unit, python, "-c",
                "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)",
            ],
            timeout: 30
        )
        #expect(writableAndExecutable.status != 0 && writableAndExecutable.stderr.contains("PermissionError"))
        let renice = try ChildProcess.run(python, [filter, unit, "/usr/bin/nice", "-n", "5", "/bin/true"], timeout: 30)
        #expect(renice.stderr.contains("Operation not permitted"), "@resources is refused: \(renice.stderr)")

        let plant = try RunCommandTests.shippedPlant()
        defer { try? FileManager.default.removeItem(atPath: plant.directory) }
        let hub = try RunningProcess(
            python,
            [filter, unit, PlenumBinary.path, "run", "--config", "hub.yaml", "--port", "0"],
            in: plant.directory
        )
        defer { hub.kill() }
        let port = try #require(hub.waitForPort(), "\(hub.text)")
        func value(_ path: String) throws -> JSONValue? {
            try PythonClient.run("get", port: port, ["/api/channels" + path])["body"]?["value"]
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, try value("/plant/line1/chiller-1/modbus/link") != .string("online") {
            usleep(200_000)
        }
        #expect(try value("/plant/line1/chiller-1/modbus/link") == .string("online"))
        #expect(try PythonClient.run("get", port: port, ["/readyz"])["body"]?["status"] == .string("ready"))
        let client = try PythonClient.run("url_subscribe", port: port, ["/plant/line2/**"])
        #expect(client["increasing"] == .bool(true))
        #expect(client["updates"] == .integer(20))
        hub.signal(SIGHUP)
        #expect(hub.waitFor("reloading") != nil)
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
        #expect(!hub.text.contains("Operation not permitted"), "\(hub.text)")
    }
}
