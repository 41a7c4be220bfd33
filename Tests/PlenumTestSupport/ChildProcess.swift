import Foundation
import PlenumCore

/// Runs helper programs for tests with every wait bounded.
///
/// Children of `swift test` have SIGTERM/SIGINT blocked, so a child that overstays its
/// timeout is killed with SIGKILL.
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
    }

    /// Runs `executable arguments` to completion, at most `timeout` seconds.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        in directory: String? = nil,
        timeout: Double = 60
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes while the child runs so a chatty child never blocks on a full pipe.
        let outData = DrainedPipe(out)
        let errData = DrainedPipe(err)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        var timedOut = false
        if process.isRunning {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: outData.text(),
            stderr: errData.text(),
            timedOut: timedOut
        )
    }
}

/// Collects everything a pipe delivers on a background thread.
final class DrainedPipe: @unchecked Sendable {
    // Safe: `data` is written only by the reader thread and read only after `done` is signalled.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func text() -> String {
        _ = done.wait(timeout: .now() + 10)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The independent Python WebSocket client in `Tests/Clients/wsclient.py`.
public enum PythonClient {
    /// `PLENUM_PYTHON` (set by `make test`) or the repository's `.venv`.
    public static var python: String {
        if let path = ProcessInfo.processInfo.environment["PLENUM_PYTHON"] { return path }
        return repositoryRoot + "/.venv/bin/python"
    }

    public static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs a scenario against the hub on `port`; returns what it printed, parsed.
    public static func run(
        _ scenario: String,
        port: Int,
        _ arguments: [String] = [],
        timeout: Double = 60
    ) throws
        -> JSONValue
    {
        let script = repositoryRoot + "/Tests/Clients/wsclient.py"
        let result = try ChildProcess.run(python, [script, scenario, String(port)] + arguments, timeout: timeout)
        guard result.status == 0, !result.timedOut else {
            throw Failure(
                description: "wsclient \(scenario) failed (status \(result.status), timed out: \(result.timedOut)):\n"
                    + result.stderr
            )
        }
        do {
            return try JSONParser.parse(result.stdout)
        } catch {
            throw Failure(description: "wsclient \(scenario) printed no JSON: \(result.stdout)\n\(result.stderr)")
        }
    }
}
