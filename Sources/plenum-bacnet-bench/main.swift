// plenum-bacnet-bench: what decoding one COV notification costs (bench/run.py "bacnet-decode").
//
// Decodes a typical unconfirmed COV notification datagram (present-value REAL and
// status-flags, as a controller sends them) the way the client does — BVLC, NPDU, APDU, then
// the notification body — in a loop, and prints {"decodes":…, "ns_per_decode":…} as JSON.
import PlenumBACnet
import PlenumCore

let datagram = [UInt8](
    hex: "810a00280100100209121c020000042c0000000a393c4e09552e44428200002f096f2e8204002f4f"
)!
let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000

var checksum = 0
// Warm up, then measure.
for _ in 0..<10_000 {
    if case .covNotification(let n, _)? = try? BACnetMessage.decode(datagram).service() { checksum &+= n.values.count }
}
let start = Deadline.monotonicNanoseconds()
for _ in 0..<count {
    guard let message = try? BACnetMessage.decode(datagram),
        case .unconfirmedRequest(_, let body)? = message.apdu,
        let notification = try? COVNotification.decode(body)
    else { fatalError("the benchmark datagram does not decode") }
    checksum &+= notification.values.count
}
let elapsed = Deadline.monotonicNanoseconds() - start
let perDecode = Double(elapsed) / Double(max(count, 1))
print(
    #"{"decodes": \#(count), "ns_per_decode": \#(perDecode), "us_per_decode": \#(perDecode / 1000), "checksum": \#(checksum)}"#
)
