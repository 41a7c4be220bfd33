import PlenumCore
import PlenumFuzzSupport

@testable import PlenumServer

/// Fuzz target: a WebSocket text message → `ClientRequest.parse`, the whole decoding of what a
/// client sends (JSON, op, channels, patterns, resume positions). Every input gets a request or a
/// protocol error, never a crash.
///
/// `ClientRequest` is internal to PlenumServer, so this target uses `@testable import`, which only
/// a build with `-enable-testing` allows: Package.swift adds it only when `PLENUM_FUZZ` is set,
/// as `make fuzz` does. Once the entry point is `package`, the import can become a plain one
/// and the target can build everywhere like the others.
@main enum FuzzClientRequest {
    static func main() { FuzzDriver.main() }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch ClientRequest.parse(bytes) {
    case .success(.subscribe(let patterns, _, _)), .success(.unsubscribe(let patterns, _)):
        for pattern in patterns {
            invariant((try? ChannelPattern(pattern.string)) == pattern, "a pattern did not parse again")
        }
    case .success(.ping):
        break
    case .failure(let error):
        _ = error
    }
    return 0
}
