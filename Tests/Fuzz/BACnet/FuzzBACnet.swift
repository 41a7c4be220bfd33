import Glibc
import PlenumBACnet

/// libFuzzer target for the BACnet/IP decoder: datagram bytes → `BACnetMessage` and its
/// service, and the same bytes straight into each service decoder (to reach them without a
/// valid header). Every input must decode or throw `BACnetDecodingError` — a trap is a finding —
/// and whatever decodes must encode and decode back to the same value.
///
/// Built only for fuzzing (PLENUM_FUZZ set; `-sanitize=fuzzer` links libFuzzer):
///
///     PLENUM_FUZZ=1 swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
///         --scratch-path .build-fuzz --product plenum-fuzz-bacnet
///     .build-fuzz/release/plenum-fuzz-bacnet -max_total_time=600 -max_len=1600 Tests/Fuzz/corpus/bacnet
@main enum FuzzBACnet {
    /// Hands control to libFuzzer, which calls `fuzzBACnet` with each input (every libFuzzer
    /// flag works: corpus directories, `-max_total_time`, a crash file to reproduce).
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzBACnet))
    }
}

/// libFuzzer's driver (compiler-rt `FuzzerDriver.cpp`), linked by `-sanitize=fuzzer`. Declared
/// here by symbol name because this target has no C module of its own; the lead's `make fuzz`
/// support module declares it in a header (`CLibFuzzer`) and can replace this.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBACnet(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? BACnetMessage.decode(bytes) {
        if let service = try? message.service() { checkRoundTrip(service) }
        if let apdu = message.apdu { same(try? APDU.decode(apdu.encode()[...]), apdu) }
    }
    let body = bytes[...]
    if let v = try? WhoIs.decode(body) { same(try? WhoIs.decode(v.encode()[...]), v) }
    if let v = try? IAm.decode(body) { same(try? IAm.decode(v.encode()[...]), v) }
    if let v = try? ReadProperty.decode(body) { same(try? ReadProperty.decode(v.encode()[...]), v) }
    if let v = try? ReadPropertyACK.decode(body) { same(try? ReadPropertyACK.decode(v.encode()[...]), v) }
    if let v = try? ReadPropertyMultiple.decode(body) { same(try? ReadPropertyMultiple.decode(v.encode()[...]), v) }
    if let v = try? ReadPropertyMultipleACK.decode(body) {
        same(try? ReadPropertyMultipleACK.decode(v.encode()[...]), v)
    }
    if let v = try? WriteProperty.decode(body) { same(try? WriteProperty.decode(v.encode()[...]), v) }
    if let v = try? SubscribeCOV.decode(body) { same(try? SubscribeCOV.decode(v.encode()[...]), v) }
    if let v = try? COVNotification.decode(body) { same(try? COVNotification.decode(v.encode()[...]), v) }
    _ = try? BACnetErrorCode.decode(body)
    _ = try? NPDU.decode(body).encode()
    return 0
}

private func checkRoundTrip(_ service: BACnetMessage.Service) {
    switch service {
    case .readPropertyACK(let v): same(try? ReadPropertyACK.decode(v.encode()[...]), v)
    case .covNotification(let v, _): same(try? COVNotification.decode(v.encode()[...]), v)
    case .readPropertyMultipleACK(let v): same(try? ReadPropertyMultipleACK.decode(v.encode()[...]), v)
    default: break
    }
}

/// Decoding what was encoded gives the same value: it encodes to the same bytes (so a NaN REAL,
/// never equal to itself, still compares).
private func same<T: WireEncodable>(_ again: T?, _ original: T) {
    guard let again else { fatalError("invariant broken: the encoding of \(original) does not decode") }
    if again.bytes != original.bytes { fatalError("invariant broken: \(original) came back as \(again)") }
}

/// What can be encoded to bytes.
private protocol WireEncodable { var bytes: [UInt8] { get } }
extension WhoIs: WireEncodable { var bytes: [UInt8] { encode() } }
extension IAm: WireEncodable { var bytes: [UInt8] { encode() } }
extension ReadProperty: WireEncodable { var bytes: [UInt8] { encode() } }
extension ReadPropertyACK: WireEncodable { var bytes: [UInt8] { encode() } }
extension ReadPropertyMultiple: WireEncodable { var bytes: [UInt8] { encode() } }
extension ReadPropertyMultipleACK: WireEncodable { var bytes: [UInt8] { encode() } }
extension WriteProperty: WireEncodable { var bytes: [UInt8] { encode() } }
extension SubscribeCOV: WireEncodable { var bytes: [UInt8] { encode() } }
extension COVNotification: WireEncodable { var bytes: [UInt8] { encode() } }
extension APDU: WireEncodable { var bytes: [UInt8] { encode() } }
