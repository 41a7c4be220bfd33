import Foundation
import PlenumTestSupport

/// The built `plenum` binary.
enum PlenumBinary {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    /// `.build/<config>/plenum`, found next to the test bundle.
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

    /// Runs `plenum <arguments>` to completion (bounded) in `directory`.
    static func run(
        _ arguments: [String],
        in directory: String = fixtures,
        timeout: Double = 30
    ) throws
        -> ChildProcess.Result
    {
        try ChildProcess.run(path, arguments, in: directory, timeout: timeout)
    }
}
