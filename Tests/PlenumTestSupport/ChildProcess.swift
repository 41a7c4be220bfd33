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

    /// Runs a scenario of `Tests/Clients/<client>` against the hub on `port`; returns what it
    /// printed, parsed.
    public static func run(
        _ scenario: String,
        port: Int,
        _ arguments: [String] = [],
        timeout: Double = 60,
        client: String = "wsclient.py"
    ) throws
        -> JSONValue
    {
        let script = repositoryRoot + "/Tests/Clients/" + client
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

/// A long-running child (the hub) whose output is collected as it arrives.
public final class RunningProcess: @unchecked Sendable {
    // Safe: `output` is guarded by `lock`; `process` is only touched by the test's thread.
    private let process = Process()
    private let lock = NSLock()
    private var output = ""

    public init(_ executable: String, _ arguments: [String], in directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.output += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    deinit { kill() }

    public var pid: Int32 { process.processIdentifier }

    /// Everything printed so far (stdout and stderr interleaved).
    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return output
    }

    /// Waits (bounded) until the output matches `pattern`; returns the first capture group.
    public func waitFor(_ pattern: String, timeout: Double = 30) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = text
            if let match = regex.firstMatch(in: current, range: NSRange(current.startIndex..., in: current)) {
                let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                return Range(range, in: current).map { String(current[$0]) }
            }
            if !process.isRunning { return nil }
            usleep(20_000)
        }
        return nil
    }

    /// The port from `plenum: listening on http://HOST:PORT` (or `https://`).
    public func waitForPort(timeout: Double = 30) -> Int? {
        waitFor(#"listening on https?://[^:]+:(\d+)"#, timeout: timeout).flatMap { Int($0) }
    }

    public func signal(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

    /// Waits (bounded) for the process to exit; returns its status, or nil if it did not.
    public func waitForExit(timeout: Double = 15) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Runs blocking work (a child process, a polling wait) on its own thread rather than on the
/// Swift concurrency pool, which has as few threads as cores: a test that blocks a pool thread
/// while it waits for another task could otherwise starve that task on a 2-core machine.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Waits (bounded) until `path` exists, without holding a concurrency-pool thread.
public func waitForFile(_ path: String, timeout: Double = 20) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if FileManager.default.fileExists(atPath: path) { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}
