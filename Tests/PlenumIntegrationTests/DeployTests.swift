import Foundation
import PlenumTestSupport
import Testing

/// deploy/plenum.service as systemd sees it.
@Suite struct DeployTests {
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
}
