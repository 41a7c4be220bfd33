internal import CLibFuzzer
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The `main` of every fuzz executable.
///
/// Built by `make fuzz` (`-sanitize=fuzzer,address -DPLENUM_FUZZ`), it hands control to libFuzzer,
/// which calls the executable's `LLVMFuzzerTestOneInput` with each input it generates (every
/// libFuzzer flag works: corpus directories, `-max_total_time`, `-rss_limit_mb`, a crash file to
/// reproduce). In an ordinary build there is no libFuzzer: the executable replays the files and
/// directories it is given through the same entry point, so a corpus or a crash file can be
/// checked without the sanitizer build (`swift run plenum-fuzz-config crash-…`).
public enum FuzzDriver {
    public static func main() -> Never {
        #if PLENUM_FUZZ
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
        #else
        var replayed = 0
        for argument in CommandLine.arguments.dropFirst() {
            for file in files(at: argument) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("cannot read \(file)")
                    exit(2)
                }
                let bytes = [UInt8](data)
                _ = bytes.withUnsafeBufferPointer { LLVMFuzzerTestOneInput($0.baseAddress, $0.count) }
                replayed += 1
            }
        }
        print("replayed \(replayed) input\(replayed == 1 ? "" : "s") without a failure")
        exit(0)
        #endif
    }

    /// The regular files at `path`: itself, or those directly inside it (sorted).
    private static func files(at path: String) -> [String] {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }.filter { name in
            var isDirectory = false
            return FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory) && !isDirectory
        }
    }
}

/// A property every input must keep; breaking it is a crash libFuzzer records as a finding.
public func invariant(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(what())") }
}
