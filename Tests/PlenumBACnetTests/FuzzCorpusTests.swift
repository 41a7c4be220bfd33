import Foundation
import PlenumBACnet
import Testing

/// The fuzz target's seed corpus (`Tests/Fuzz/corpus/bacnet/`) stays valid: every seed is a
/// well-formed datagram whose service decodes and re-encodes to the same bytes.
@Suite struct FuzzCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/bacnet").path

    @Test func everySeedDecodes() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory).sorted()
        #expect(names.count >= 20)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + name)))
            let message = try BACnetMessage.decode(bytes)
            _ = try message.service()
            if let apdu = message.apdu {
                #expect(try APDU.decode(apdu.encode()[...]) == apdu, "\(name)")
            }
        }
    }

    /// Inputs the fuzzer kept for new coverage that once looked dangerous: huge claimed
    /// lengths, deep nesting, a truncated extended tag, lying BVLC lengths.
    @Test(arguments: [
        "810a000f01003001 0c 0c00000001 1955 3e 7f",
        "810a0010010030010c0c00000001195b3eff",
        "810a00100100300 10c0c000000011955 3e f5",
        "810a0012010030010c0c0000000119553e65ffffffff",
        "810400080a00",
        "810a000d0128ffff0000010008",
    ])
    func hostileInputIsAnError(_ hex: String) throws {
        var bytes = [UInt8](hex: hex)!
        if bytes.count >= 4 {
            bytes[2] = UInt8(bytes.count >> 8)
            bytes[3] = UInt8(bytes.count & 0xFF)
        }
        #expect(throws: BACnetDecodingError.self) { try BACnetMessage.decode(bytes).service() }
    }
}
