import PlenumCore
import PlenumFuzzSupport

/// Fuzz target: client-message bytes → `JSONParser` (every WebSocket text frame goes through it
/// before `ClientRequest` looks at it). A parsed value must encode and parse back to itself.
@main enum FuzzJSON {
    static func main() { FuzzDriver.main() }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        invariant(error.offset >= 0 && error.offset <= bytes.count, "offset \(error.offset) of \(bytes.count)")
        _ = error.description
        return 0
    }
    let encoded = value.jsonBytes
    do {
        let again = try JSONParser.parse(encoded)
        invariant(again == value || value.hasNaN, "round trip changed \(value.jsonString)")
        invariant(again.jsonBytes == encoded, "encoding is not stable: \(value.jsonString)")
    } catch {
        invariant(false, "the encoder wrote JSON the parser refuses: \(String(decoding: encoded, as: UTF8.self))")
    }
    return 0
}

extension JSONValue {
    /// NaN is never equal to itself (the parser cannot produce it, but say so rather than assume).
    fileprivate var hasNaN: Bool {
        switch self {
        case .double(let d): d.isNaN
        case .array(let items): items.contains { $0.hasNaN }
        case .object(let members): members.values.contains { $0.hasNaN }
        default: false
        }
    }
}
