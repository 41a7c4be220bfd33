import PlenumBACnet
import PlenumFuzzSupport

/// Fuzz target: datagram bytes → `BACnetMessage` and its service, and the same bytes straight
/// into each service decoder (to reach them without a valid header). Every input must decode or
/// throw `BACnetDecodingError` — a trap is a finding — and whatever decodes must encode and decode
/// back to the same value. `make fuzz FUZZ_TARGETS=bacnet` (docs/reliability.md).
@main enum FuzzBACnet {
    static func main() { FuzzDriver.main() }
}

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
    guard let again else { return invariant(false, "the encoding of \(original) does not decode") }
    invariant(again.bytes == original.bytes, "\(original) came back as \(again)")
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
