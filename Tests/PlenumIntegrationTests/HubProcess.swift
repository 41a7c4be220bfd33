import Foundation

/// Runs the built `plenum` binary as a child process, with every wait bounded.
///
/// Children of `swift test` have SIGTERM/SIGINT blocked, so stopping uses SIGKILL unless a
/// test means to check graceful shutdown (which unblocks the signals in the child itself).
struct PlenumBinary {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    /// `.build/<config>/plenum`, next to the test bundle.
    static var path: String {
        if let override = ProcessInfo.processInfo.environment["PLENUM_BINARY"] { return override }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !dir.path.isEmpty && dir.path != "/" {
            let candidate = dir.appendingPathComponent("plenum").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/plenum"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `plenum <arguments>` to completion (at most `timeout` seconds) in `directory`.
    static func run(_ arguments: [String], in directory: String = fixtures, timeout: Double = 30) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        )
    }
}
