import PlenumBACnet
import Testing

/// Every application type, encoded as clause 20.2 shows it, inside a WriteProperty value so the
/// public API decodes it.
@Suite struct ApplicationValueTests {
    /// Wraps `valueHex` as the [3] value of a WriteProperty body and decodes it.
    static func decode(_ valueHex: String) throws -> [BACnetValue] {
        let body = [UInt8](hex: "0c00800001 1955 3e" + valueHex + "3f")!
        return try WriteProperty.decode(body[...]).values
    }

    static func encode(_ value: BACnetValue) -> String {
        let write = WriteProperty(object: BACnetObjectIdentifier("av:1")!, property: .presentValue, values: [value])
        let body = write.encode()
        return Array(body[8..<(body.count - 1)]).hexString
    }

    static let cases: [(BACnetValue, String)] = [
        (.null, "00"),
        (.boolean(false), "10"),
        (.boolean(true), "11"),
        (.unsigned(72), "2148"),
        (.unsigned(1476), "2205c4"),
        (.unsigned(0x1_0000_0000), "25050100000000"),
        (.signed(-1), "31ff"),
        (.signed(-200), "32ff38"),
        (.signed(300), "32012c"),
        (.real(72.5), "4442910000"),
        (.double(1.5), "55083ff8000000000000"),
        (.octetString([0x12, 0x34, 0xff]), "631234ff"),
        (.characterString("hi"), "73006869"),
        (.characterString("Température"), "750d0054656d70c3a9726174757265"),
        (.bitString(BACnetBitString([false, false, false, false])), "820400"),
        (.bitString(BACnetBitString([true, false, true])), "8205a0"),
        (.enumerated(1), "9101"),
        (.enumerated(0x1_0000), "93010000"),
        (.date(BACnetDate(yearSince1900: 124, month: 3, day: 15, weekday: 5)), "a47c030f05"),
        (.date(BACnetDate(yearSince1900: 255, month: 255, day: 1, weekday: 255)), "a4ffff01ff"),
        (.time(BACnetTime(hour: 14, minute: 30, second: 0, hundredths: 0)), "b40e1e0000"),
        (.objectIdentifier(BACnetObjectIdentifier("analog-input:1")!), "c400000001"),
        (.objectIdentifier(BACnetObjectIdentifier("device:4194303")!), "c4023fffff"),
    ]

    @Test(arguments: cases.indices) func roundTrip(_ i: Int) throws {
        let (value, hex) = Self.cases[i]
        #expect(Self.encode(value) == hex)
        #expect(try Self.decode(hex) == [value])
    }

    @Test func constructedDataKeepsItsShape() throws {
        // A BACnetDateTime-like pair inside [0], and a context primitive [1] = 5.
        let values = try Self.decode("0e a47c030f05 b40e1e0000 0f 1905")
        #expect(
            values == [
                .constructed(
                    tag: 0,
                    values: [
                        .date(BACnetDate(yearSince1900: 124, month: 3, day: 15, weekday: 5)),
                        .time(BACnetTime(hour: 14, minute: 30, second: 0, hundredths: 0)),
                    ]
                ),
                .context(tag: 1, data: [5]),
            ]
        )
    }

    @Test func aLongStringUsesTheExtendedLength() throws {
        let text = String(repeating: "x", count: 300)
        let hex = Self.encode(.characterString(text))
        #expect(hex.hasPrefix("75fe012d00"))
        #expect(try Self.decode(hex) == [.characterString(text)])
    }

    @Test func namesOfObjectsAndProperties() {
        #expect(BACnetObjectIdentifier("analog-input:1")?.description == "analog-input:1")
        #expect(BACnetObjectIdentifier("AV:3")?.description == "analog-value:3")
        #expect(BACnetObjectIdentifier("binary-value:0")?.rawValue == 0x0140_0000)
        #expect(BACnetObjectIdentifier("130:7")?.description == "130:7")
        #expect(BACnetObjectIdentifier("analog-input:4194304") == nil)
        #expect(BACnetObjectIdentifier("chiller:1") == nil)
        #expect(BACnetObjectIdentifier("analog-input") == nil)
        #expect(BACnetPropertyIdentifier(name: "present-value") == .presentValue)
        #expect(BACnetPropertyIdentifier(name: "presentValue") == .presentValue)
        #expect(BACnetPropertyIdentifier(name: "PRESENT_VALUE") == .presentValue)
        #expect(BACnetPropertyIdentifier(name: "priority-array")?.rawValue == 87)
        #expect(BACnetPropertyIdentifier(name: "9999")?.description == "9999")
        #expect(BACnetPropertyIdentifier(name: "no-such-property") == nil)
        #expect(BACnetPropertyIdentifier.priorityArray.isList)
        #expect(!BACnetPropertyIdentifier.presentValue.isList)
        #expect(BACnetIPAddress("127.0.0.1:47809")?.description == "127.0.0.1:47809")
        #expect(BACnetIPAddress("10.0.0.1")?.port == 47808)
        #expect(BACnetIPAddress("10.0.0.256") == nil)
        #expect(BACnetIPAddress("10.0.0.1:0") == nil)
    }
}
