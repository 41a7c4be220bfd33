import PlenumBACnet
import Testing

/// Malformed and truncated input gives a typed error — never a trap, never a wrong success.
@Suite struct MalformedPacketTests {
    static func decodeAll(_ bytes: [UInt8]) throws(BACnetDecodingError) -> BACnetMessage.Service {
        try BACnetMessage.decode(bytes).service()
    }

    /// The error decoding `hex` gives, with the BVLC length set to the real length unless
    /// `keepLength` (so the inner decoders see the cut).
    static func error(_ hex: String, keepLength: Bool = false) -> BACnetDecodingError? {
        var bytes = [UInt8](hex: hex)!
        if !keepLength && bytes.count >= 4 {
            bytes[2] = UInt8(bytes.count >> 8)
            bytes[3] = UInt8(bytes.count & 0xFF)
        }
        do {
            _ = try decodeAll(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// Every vector of `ServiceVectorTests`, cut at every length (with the BVLC length field
    /// adjusted so the cut reaches the inner decoders): each cut decodes or throws.
    @Test func everyTruncationIsAnErrorOrAShorterValidMessage() {
        let vectors = [
            "810b000e010010080a03e81a03e8", "810b001501001000c4020004d22205c491002203e7",
            "810a0017010030010c0c0000000119553e44429100003f",
            "810a0021010030f10e0c000000101e29554e444290999a4f291c5e910291205f1f",
            "810a001a01040005030f0c0080000119553e44425c00003f4908",
            "810a002a010400050f0109121c020000042c0000000a39004e09552e44428200002f096f2e8204002f4f",
            "810a000d010050010c91029120",
        ]
        var errors = 0
        for hex in vectors {
            let full = [UInt8](hex: hex)!
            for cut in 4..<full.count {
                var bytes = Array(full[..<cut])
                bytes[2] = UInt8(cut >> 8)
                bytes[3] = UInt8(cut & 0xFF)
                do { _ = try Self.decodeAll(bytes) } catch { errors += 1 }
            }
            // Without adjusting the length, every cut is caught by the BVLC.
            for cut in 0..<full.count {
                #expect(throws: BACnetDecodingError.self) { try Self.decodeAll(Array(full[..<cut])) }
            }
        }
        #expect(errors > 100)
    }

    @Test func truncatedServicesNameWhatIsMissing() {
        // ReadProperty-ACK cut inside its value list: the closing tag [3] is missing.
        #expect(
            Self.error("810a0014010030010c0c0000000119553e4442")
                == .truncated("application tag 4 needs 4 bytes, 1 left")
        )
        #expect(Self.error("810a0012010030010c0c0000000119553e") == .truncated("missing closing tag [3]"))
        #expect(Self.error("810a0007010030") == .truncated("invoke id"))
    }

    @Test func headersThatLie() {
        #expect(
            Self.error("810a0009010020", keepLength: true) == .malformed("BVLC length 9 but the datagram has 7 bytes")
        )
        #expect(Self.error("820a00060100") == .malformed("BVLC type 0x82 is not BACnet/IP"))
        #expect(Self.error("81ee00060100") == .malformed("unknown BVLC function 0xee"))
        #expect(Self.error("810a00060200") == .malformed("NPDU version 2, expected 1"))
        #expect(Self.error("810a00070100f0") == .malformed("APDU type 15 is reserved"))
        #expect(Self.error("810a000801000f0c") == .malformed("max APDU code 12 is reserved"))
        // SLEN 0 in a source address.
        #expect(Self.error("810a000a010800010010 08") == .malformed("source address with SLEN 0"))
    }

    @Test func valuesThatBreakTheRules() {
        let prefix = "810a0017010030010c0c000000011955"
        func ack(_ value: String) -> String { prefix + "3e" + value + "3f" }
        #expect(Self.error(ack("43429100")) == .malformed("real of 3 bytes"))
        #expect(Self.error(ack("d0")) == .malformed("reserved application tag 13"))
        #expect(Self.error(ack("2100")) == nil)
        #expect(Self.error(ack("20")) == .malformed("unsigned of 0 bytes"))
        #expect(Self.error(ack("12")) == .malformed("boolean with value 2"))
        #expect(Self.error(ack("7300c3")) == .malformed("character string is not valid UTF-8"))
        #expect(
            Self.error(ack("7304006869"))
                == .unsupported("character set 4 (UCS-2); only UTF-8 (0) is supported")
        )
        #expect(Self.error(ack("8208ff")) == .malformed("bit string with 8 unused bits in 1 bytes"))
        #expect(Self.error(ack("0e1f")) == .malformed("closing tag [1] where [0] was expected"))
        #expect(Self.error(ack("1e")) == .malformed("closing tag [3] where [1] was expected"))
        // A length field claiming 4 GiB.
        #expect(Self.error(ack("65ffffffffff")) == .malformed("value length 4294967295 is too long"))
        // A claimed length past the end of the datagram.
        #expect(Self.error(ack("65fe0400")) == .truncated("application tag 6 needs 1024 bytes, 1 left"))
        // Application tags cannot open or close.
        #expect(Self.error(ack("26")) == .malformed("application tag 2 marked as opening"))
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "0e", count: 40) + String(repeating: "0f", count: 40)
        let bytes = [UInt8](hex: "810a0000010030010c0c000000011955" + "3e" + deep + "3f")!
        var datagram = bytes
        datagram[2] = UInt8(bytes.count >> 8)
        datagram[3] = UInt8(bytes.count & 0xFF)
        #expect(throws: BACnetDecodingError.malformed("constructed data nested deeper than 16")) {
            try Self.decodeAll(datagram)
        }
    }

    @Test func segmentedMessagesAreRefusedClearly() {
        // A segmented Complex-ACK (first segment of a ReadProperty-ACK).
        #expect(Self.error("810a000e01003c010001 0c0c00") == .unsupported("segmented response"))
    }

    @Test func oversizedDatagramsAreRefused() {
        var bytes = [UInt8](repeating: 0, count: 2_000)
        bytes[0] = 0x81
        bytes[1] = 0x0a
        bytes[2] = 0x07
        bytes[3] = 0xd0
        #expect(throws: BACnetDecodingError.malformed("datagram of 2000 bytes (at most 1600)")) {
            try Self.decodeAll(bytes)
        }
    }
}
