import PlenumBACnet
import Testing

/// Whole datagrams as the bacpypes3 peer (0.0.110) encodes them, each decoded to the service
/// it carries and re-encoded to the same bytes.
@Suite struct ServiceVectorTests {
    static func bytes(_ hex: String) -> [UInt8] { [UInt8](hex: hex)! }

    static func service(_ hex: String) throws -> BACnetMessage.Service {
        try BACnetMessage.decode(bytes(hex)).service()
    }

    static let ai1 = BACnetObjectIdentifier("analog-input:1")!
    static let av1 = BACnetObjectIdentifier("analog-value:1")!

    @Test func whoIsGlobalAndRanged() throws {
        let all = "810b000801001008"
        #expect(try Self.service(all) == .whoIs(WhoIs()))
        #expect(
            BACnetMessage.encode(.unconfirmedRequest(service: 8, body: WhoIs().encode()[...]), broadcast: true)
                == Self.bytes(all)
        )
        let ranged = "810b000e010010080a03e81a03e8"
        #expect(try Self.service(ranged) == .whoIs(WhoIs(range: 1000...1000)))
        #expect(
            BACnetMessage.encode(
                .unconfirmedRequest(service: 8, body: WhoIs(range: 1000...1000).encode()[...]),
                broadcast: true
            ) == Self.bytes(ranged)
        )
    }

    @Test func iAm() throws {
        let hex = "810b001501001000c4020004d22205c491002203e7"
        let expected = IAm(
            device: BACnetObjectIdentifier("device:1234")!,
            maxAPDU: 1476,
            segmentation: 0,
            vendorID: 999
        )
        #expect(try Self.service(hex) == .iAm(expected))
        #expect(
            BACnetMessage.encode(.unconfirmedRequest(service: 0, body: expected.encode()[...]), broadcast: true)
                == Self.bytes(hex)
        )
    }

    @Test func readPropertyRequestAndACK() throws {
        let request = "810a001101040005010c0c000000011955"
        #expect(try Self.service(request) == .readProperty(ReadProperty(object: Self.ai1, property: .presentValue)))
        let apdu = APDU.confirmedRequest(
            .init(invokeID: 1, service: 12, body: ReadProperty(object: Self.ai1, property: .presentValue).encode()[...])
        )
        #expect(BACnetMessage.encode(apdu, expectingReply: true) == Self.bytes(request))

        let indexed = "810a001301040005020c0c0080000119572908"
        #expect(
            try Self.service(indexed)
                == .readProperty(ReadProperty(object: Self.av1, property: .priorityArray, index: 8))
        )

        let ack = "810a0017010030010c0c0000000119553e44429100003f"
        let expected = ReadPropertyACK(object: Self.ai1, property: .presentValue, values: [.real(72.5)])
        #expect(try Self.service(ack) == .readPropertyACK(expected))
        #expect(
            BACnetMessage.encode(.complexACK(.init(invokeID: 1, service: 12, body: expected.encode()[...])))
                == Self.bytes(ack)
        )
    }

    @Test func readPropertyMultipleWithAnAccessError() throws {
        let ai16 = BACnetObjectIdentifier("analog-input:16")!
        let request = ReadPropertyMultiple([
            .init(
                object: ai16,
                properties: [.init(.presentValue), .init(BACnetPropertyIdentifier(name: "reliability")!)]
            )
        ])
        let requestHex = "810a001501040005f10e0c000000101e095509671f"
        #expect(try Self.service(requestHex) == .readPropertyMultiple(request))
        #expect(
            BACnetMessage.encode(
                .confirmedRequest(.init(invokeID: 241, service: 14, body: request.encode()[...])),
                expectingReply: true
            ) == Self.bytes(requestHex)
        )

        let ackHex = "810a0021010030f10e0c000000101e29554e444290999a4f291c5e910291205f1f"
        let ack = ReadPropertyMultipleACK([
            .init(
                object: ai16,
                items: [
                    .init(property: .presentValue, result: .success([.real(72.3)])),
                    .init(
                        property: BACnetPropertyIdentifier(name: "description")!,
                        result: .failure(BACnetErrorCode(errorClass: 2, errorCode: 32))
                    ),
                ]
            )
        ])
        #expect(try Self.service(ackHex) == .readPropertyMultipleACK(ack))
        #expect(
            BACnetMessage.encode(.complexACK(.init(invokeID: 241, service: 14, body: ack.encode()[...])))
                == Self.bytes(ackHex)
        )
        #expect(BACnetErrorCode(errorClass: 2, errorCode: 32).description == "property/unknown-property")
    }

    @Test func writePropertyWithPriorityAndRelinquish() throws {
        let write = WriteProperty(object: Self.av1, property: .presentValue, values: [.real(55)], priority: 8)
        let writeHex = "810a001a01040005030f0c0080000119553e44425c00003f4908"
        #expect(try Self.service(writeHex) == .writeProperty(write))
        #expect(
            BACnetMessage.encode(
                .confirmedRequest(.init(invokeID: 3, service: 15, body: write.encode()[...])),
                expectingReply: true
            ) == Self.bytes(writeHex)
        )
        let relinquish = WriteProperty(object: Self.av1, property: .presentValue, values: [.null], priority: 8)
        let relinquishHex = "810a001601040005040f0c0080000119553e003f4908"
        #expect(try Self.service(relinquishHex) == .writeProperty(relinquish))
        #expect(
            BACnetMessage.encode(
                .confirmedRequest(.init(invokeID: 4, service: 15, body: relinquish.encode()[...])),
                expectingReply: true
            ) == Self.bytes(relinquishHex)
        )
        #expect(try BACnetMessage.decode(Self.bytes("810a00090100200f05")).apdu == .simpleACK(invokeID: 15, service: 5))
    }

    @Test func subscribeCOVAndItsCancellation() throws {
        let ai10 = BACnetObjectIdentifier("analog-input:10")!
        let subscribe = SubscribeCOV(processID: 18, object: ai10, confirmed: true, lifetime: 0)
        let hex = "810a0015010400050f0509121c0000000a29013900"
        #expect(try Self.service(hex) == .subscribeCOV(subscribe))
        #expect(
            BACnetMessage.encode(
                .confirmedRequest(.init(invokeID: 15, service: 5, body: subscribe.encode()[...])),
                expectingReply: true
            ) == Self.bytes(hex)
        )
        let cancel = "810a001101040005100509121c0000000a"
        guard case .subscribeCOV(let decoded) = try Self.service(cancel) else {
            Issue.record("not a SubscribeCOV")
            return
        }
        #expect(decoded.isCancellation)
        #expect(decoded == .cancel(processID: 18, object: ai10))
    }

    @Test func covNotificationsConfirmedAndUnconfirmed() throws {
        let values = [
            COVNotification.PropertyValue(property: .presentValue, values: [.real(65)]),
            COVNotification.PropertyValue(
                property: .statusFlags,
                values: [.bitString(BACnetBitString([false, false, false, false]))]
            ),
        ]
        let device4 = BACnetObjectIdentifier("device:4")!
        let ai10 = BACnetObjectIdentifier("analog-input:10")!
        let confirmed = COVNotification(
            processID: 18,
            initiatingDevice: device4,
            object: ai10,
            timeRemaining: 0,
            values: values
        )
        let confirmedHex = "810a002a010400050f0109121c020000042c0000000a39004e09552e44428200002f096f2e8204002f4f"
        #expect(try Self.service(confirmedHex) == .covNotification(confirmed, confirmed: true))
        #expect(
            BACnetMessage.encode(
                .confirmedRequest(.init(invokeID: 15, service: 1, body: confirmed.encode()[...])),
                expectingReply: true
            ) == Self.bytes(confirmedHex)
        )
        var unconfirmed = confirmed
        unconfirmed.timeRemaining = 60
        let unconfirmedHex = "810a00280100100209121c020000042c0000000a393c4e09552e44428200002f096f2e8204002f4f"
        #expect(try Self.service(unconfirmedHex) == .covNotification(unconfirmed, confirmed: false))
        #expect(
            BACnetMessage.encode(.unconfirmedRequest(service: 2, body: unconfirmed.encode()[...]))
                == Self.bytes(unconfirmedHex)
        )
    }

    @Test func errorRejectAndAbort() throws {
        let error = "810a000d010050010c91029120"
        #expect(try Self.service(error) == .error(BACnetErrorCode(errorClass: 2, errorCode: 32)))
        #expect(try BACnetMessage.decode(Self.bytes(error)).apdu?.replyInvokeID == 1)
        #expect(try BACnetMessage.decode(Self.bytes("810a00090100600109")).apdu == .reject(invokeID: 1, reason: 9))
        #expect(BACnetRejectReason.name(9) == "unrecognized-service")
        #expect(
            try BACnetMessage.decode(Self.bytes("810a00090100710104")).apdu
                == .abort(fromServer: true, invokeID: 1, reason: 4)
        )
        #expect(BACnetAbortReason.name(4) == "segmentation-not-supported")
        #expect(BACnetAbortReason.name(200) == "proprietary-200")
    }

    @Test func segmentACKIsRecognised() throws {
        let apdu = try BACnetMessage.decode(Self.bytes("810a000a010042070301")).apdu
        #expect(apdu == .segmentACK(negative: true, fromServer: false, invokeID: 7, sequenceNumber: 3, windowSize: 1))
    }

    /// Forwarded-NPDU (Annex J.2.5): a BBMD relays the I-Am above for its original sender,
    /// 192.168.1.10:47808, whose B/IP address follows the header. Bytes from bacpypes3's
    /// `ForwardedNPDU(IPv4Address("192.168.1.10:47808"), npdu).encode()`.
    @Test func forwardedNPDUCarriesTheOriginalSender() throws {
        let hex = "8104001bc0a8010abac001001000c4020004d22205c491002203e7"
        let message = try BACnetMessage.decode(Self.bytes(hex))
        let original = BACnetIPAddress(host: 0xC0A8_010A, port: 47_808)
        guard case .forwarded(let source, let npdu) = message.bvlc else {
            Issue.record("not a Forwarded-NPDU: \(message.bvlc)")
            return
        }
        #expect(source == original)
        #expect(source.description == "192.168.1.10:47808")
        #expect(Array(npdu) == Self.bytes("01001000c4020004d22205c491002203e7"))
        #expect(
            try message.service()
                == .iAm(
                    IAm(device: BACnetObjectIdentifier("device:1234")!, maxAPDU: 1476, segmentation: 0, vendorID: 999)
                )
        )
        #expect(BVLC.forwarded(source: original, npdu: npdu).encode() == Self.bytes(hex))
        // The header's length counts the six address bytes; a datagram cut inside them is an error.
        #expect(throws: BACnetDecodingError.self) { try BVLC.decode(Self.bytes("81040009c0a8010aba")) }
        #expect(throws: BACnetDecodingError.self) { try BVLC.decode(Self.bytes("8104001bc0a8010abac0")) }
    }

    /// Register-Foreign-Device (Annex J.2.6): a two-byte time-to-live in seconds, and nothing
    /// else; its NAK is a BVLC-Result with code 0x0030. Bytes from bacpypes3's
    /// `RegisterForeignDevice(60).encode()`.
    @Test func registerForeignDeviceAndItsResult() throws {
        let hex = "81050006003c"
        #expect(try BVLC.decode(Self.bytes(hex)) == .registerForeignDevice(timeToLive: 60))
        #expect(BVLC.registerForeignDevice(timeToLive: 60).encode() == Self.bytes(hex))
        #expect(try BACnetMessage.decode(Self.bytes(hex)).npdu == nil)
        #expect(try BVLC.decode(Self.bytes("810000060030")) == .result(code: 0x0030))
        #expect(BVLC.result(code: 0x0030).encode() == Self.bytes("810000060030"))
        #expect(throws: BACnetDecodingError.self) { try BVLC.decode(Self.bytes("81050007003c00")) }
        #expect(throws: BACnetDecodingError.self) { try BVLC.decode(Self.bytes("8105000500")) }
    }
}
