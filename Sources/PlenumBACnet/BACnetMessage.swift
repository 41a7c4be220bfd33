/// One BACnet/IP datagram taken apart — BVLC, NPDU, APDU — and the service in it decoded when
/// Plenum knows it. `decode` is total: any byte string gives a message or a
/// `BACnetDecodingError`.
public struct BACnetMessage: Sendable, Equatable {
    public var bvlc: BVLC
    public var npdu: NPDU?
    public var apdu: APDU?

    /// The services Plenum decodes.
    public enum Service: Sendable, Equatable {
        case whoIs(WhoIs)
        case iAm(IAm)
        case readProperty(ReadProperty)
        case readPropertyACK(ReadPropertyACK)
        case readPropertyMultiple(ReadPropertyMultiple)
        case readPropertyMultipleACK(ReadPropertyMultipleACK)
        case writeProperty(WriteProperty)
        case subscribeCOV(SubscribeCOV)
        case covNotification(COVNotification, confirmed: Bool)
        case error(BACnetErrorCode)
        /// Well-formed, but a service Plenum does not decode (or a PDU without a service body).
        case other
    }

    public init(bvlc: BVLC, npdu: NPDU?, apdu: APDU?) {
        self.bvlc = bvlc
        self.npdu = npdu
        self.apdu = apdu
    }

    public static func decode(_ datagram: ArraySlice<UInt8>) throws(BACnetDecodingError) -> BACnetMessage {
        guard datagram.count <= BVLC.maxDatagram else {
            throw .malformed("datagram of \(datagram.count) bytes (at most \(BVLC.maxDatagram))")
        }
        let bvlc = try BVLC.decode(datagram)
        guard let bytes = bvlc.npdu else { return BACnetMessage(bvlc: bvlc, npdu: nil, apdu: nil) }
        let npdu = try NPDU.decode(bytes)
        guard case .apdu(let apduBytes) = npdu.payload else { return BACnetMessage(bvlc: bvlc, npdu: npdu, apdu: nil) }
        return BACnetMessage(bvlc: bvlc, npdu: npdu, apdu: try APDU.decode(apduBytes))
    }

    public static func decode(_ datagram: [UInt8]) throws(BACnetDecodingError) -> BACnetMessage {
        try decode(datagram[...])
    }

    /// The service body decoded by PDU type and service choice.
    public func service() throws(BACnetDecodingError) -> Service {
        switch apdu {
        case .unconfirmedRequest(let service, let body)?:
            switch service {
            case BACnetUnconfirmedService.whoIs: return .whoIs(try WhoIs.decode(body))
            case BACnetUnconfirmedService.iAm: return .iAm(try IAm.decode(body))
            case BACnetUnconfirmedService.unconfirmedCOVNotification:
                return .covNotification(try COVNotification.decode(body), confirmed: false)
            default: return .other
            }
        case .confirmedRequest(let request)?:
            if request.segmented { throw .unsupported("segmented request") }
            switch request.service {
            case BACnetConfirmedService.readProperty: return .readProperty(try ReadProperty.decode(request.body))
            case BACnetConfirmedService.readPropertyMultiple:
                return .readPropertyMultiple(try ReadPropertyMultiple.decode(request.body))
            case BACnetConfirmedService.writeProperty: return .writeProperty(try WriteProperty.decode(request.body))
            case BACnetConfirmedService.subscribeCOV: return .subscribeCOV(try SubscribeCOV.decode(request.body))
            case BACnetConfirmedService.confirmedCOVNotification:
                return .covNotification(try COVNotification.decode(request.body), confirmed: true)
            default: return .other
            }
        case .complexACK(let ack)?:
            if ack.segmented { throw .unsupported("segmented response") }
            switch ack.service {
            case BACnetConfirmedService.readProperty: return .readPropertyACK(try ReadPropertyACK.decode(ack.body))
            case BACnetConfirmedService.readPropertyMultiple:
                return .readPropertyMultipleACK(try ReadPropertyMultipleACK.decode(ack.body))
            default: return .other
            }
        case .error(_, _, let body)?:
            return .error(try BACnetErrorCode.decode(body))
        default:
            return .other
        }
    }

    /// A datagram carrying `apdu`: unicast to `remote` (or to the device itself when nil), or a
    /// local broadcast.
    public static func encode(
        _ apdu: APDU,
        remote: NPDU.RemoteAddress? = nil,
        broadcast: Bool = false,
        expectingReply: Bool = false
    ) -> [UInt8] {
        let npdu = NPDU(expectingReply: expectingReply, destination: remote, payload: .apdu(apdu.encode()[...]))
        let bytes = npdu.encode()[...]
        return (broadcast ? BVLC.originalBroadcast(npdu: bytes) : BVLC.originalUnicast(npdu: bytes)).encode()
    }
}
