/// The application-layer PDU (ASHRAE 135 clause 20.1): the eight PDU types, each with its
/// header fields; service bodies stay undecoded bytes here (see the service types).
public enum APDU: Sendable, Equatable {
    case confirmedRequest(ConfirmedRequest)
    case unconfirmedRequest(service: UInt8, body: ArraySlice<UInt8>)
    case simpleACK(invokeID: UInt8, service: UInt8)
    case complexACK(ComplexACK)
    case segmentACK(negative: Bool, fromServer: Bool, invokeID: UInt8, sequenceNumber: UInt8, windowSize: UInt8)
    /// An Error PDU: the body holds the error class and code (see `BACnetErrorCode.decode`).
    case error(invokeID: UInt8, service: UInt8, body: ArraySlice<UInt8>)
    case reject(invokeID: UInt8, reason: UInt8)
    case abort(fromServer: Bool, invokeID: UInt8, reason: UInt8)

    public struct ConfirmedRequest: Sendable, Equatable {
        public var segmented = false
        public var moreFollows = false
        public var segmentedResponseAccepted = false
        /// Encoded as in clause 20.1.2.4 (0 = unspecified).
        public var maxSegments: UInt8 = 0
        /// The largest APDU the requester accepts, in bytes (50, 128, 206, 480, 1024 or 1476).
        public var maxAPDU: Int = 1_476
        public var invokeID: UInt8
        public var sequenceNumber: UInt8?
        public var windowSize: UInt8?
        public var service: UInt8
        public var body: ArraySlice<UInt8>

        public init(invokeID: UInt8, service: UInt8, body: ArraySlice<UInt8>, maxAPDU: Int = 1_476) {
            self.invokeID = invokeID
            self.service = service
            self.body = body
            self.maxAPDU = maxAPDU
        }
    }

    public struct ComplexACK: Sendable, Equatable {
        public var segmented = false
        public var moreFollows = false
        public var invokeID: UInt8
        public var sequenceNumber: UInt8?
        public var windowSize: UInt8?
        public var service: UInt8
        public var body: ArraySlice<UInt8>

        public init(invokeID: UInt8, service: UInt8, body: ArraySlice<UInt8>) {
            self.invokeID = invokeID
            self.service = service
            self.body = body
        }
    }

    /// The APDU sizes of clause 20.1.2.5, by their 4-bit code.
    static let maxAPDUSizes = [50, 128, 206, 480, 1_024, 1_476]

    /// The invoke id of a reply (ACK, Error, Reject, Abort); nil for requests.
    public var replyInvokeID: UInt8? {
        switch self {
        case .simpleACK(let id, _), .error(let id, _, _), .reject(let id, _): id
        case .complexACK(let ack): ack.invokeID
        case .abort(_, let id, _), .segmentACK(_, _, let id, _, _): id
        case .confirmedRequest, .unconfirmedRequest: nil
        }
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(BACnetDecodingError) -> APDU {
        var reader = ByteReader(bytes)
        let first = try reader.u8("APDU type")
        switch first >> 4 {
        case 0:
            let control = try reader.u8("max segments / max APDU")
            let sizeCode = Int(control & 0x0F)
            guard sizeCode < maxAPDUSizes.count else { throw .malformed("max APDU code \(sizeCode) is reserved") }
            var request = ConfirmedRequest(
                invokeID: try reader.u8("invoke id"),
                service: 0,
                body: [],
                maxAPDU: maxAPDUSizes[sizeCode]
            )
            request.segmented = first & 0x08 != 0
            request.moreFollows = first & 0x04 != 0
            request.segmentedResponseAccepted = first & 0x02 != 0
            request.maxSegments = (control >> 4) & 0x07
            if request.segmented {
                request.sequenceNumber = try reader.u8("sequence number")
                request.windowSize = try reader.u8("proposed window size")
            }
            request.service = try reader.u8("service choice")
            request.body = reader.rest()
            return .confirmedRequest(request)
        case 1:
            let service = try reader.u8("service choice")
            return .unconfirmedRequest(service: service, body: reader.rest())
        case 2:
            let id = try reader.u8("invoke id")
            let service = try reader.u8("service choice")
            try reader.expectEnd("Simple-ACK")
            return .simpleACK(invokeID: id, service: service)
        case 3:
            var ack = ComplexACK(invokeID: try reader.u8("invoke id"), service: 0, body: [])
            ack.segmented = first & 0x08 != 0
            ack.moreFollows = first & 0x04 != 0
            if ack.segmented {
                ack.sequenceNumber = try reader.u8("sequence number")
                ack.windowSize = try reader.u8("proposed window size")
            }
            ack.service = try reader.u8("service choice")
            ack.body = reader.rest()
            return .complexACK(ack)
        case 4:
            let id = try reader.u8("invoke id")
            let sequence = try reader.u8("sequence number")
            let window = try reader.u8("actual window size")
            try reader.expectEnd("Segment-ACK")
            return .segmentACK(
                negative: first & 0x02 != 0,
                fromServer: first & 0x01 != 0,
                invokeID: id,
                sequenceNumber: sequence,
                windowSize: window
            )
        case 5:
            let id = try reader.u8("invoke id")
            let service = try reader.u8("service choice")
            return .error(invokeID: id, service: service, body: reader.rest())
        case 6:
            let id = try reader.u8("invoke id")
            let reason = try reader.u8("reject reason")
            try reader.expectEnd("Reject")
            return .reject(invokeID: id, reason: reason)
        case 7:
            let id = try reader.u8("invoke id")
            let reason = try reader.u8("abort reason")
            try reader.expectEnd("Abort")
            return .abort(fromServer: first & 0x01 != 0, invokeID: id, reason: reason)
        default:
            throw .malformed("APDU type \(first >> 4) is reserved")
        }
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        switch self {
        case .confirmedRequest(let r):
            var first: UInt8 = 0x00
            if r.segmented { first |= 0x08 }
            if r.moreFollows { first |= 0x04 }
            if r.segmentedResponseAccepted { first |= 0x02 }
            out.u8(first)
            let sizeCode = Self.maxAPDUSizes.lastIndex { $0 <= r.maxAPDU } ?? 0
            out.u8((r.maxSegments & 0x07) << 4 | UInt8(truncatingIfNeeded: sizeCode))
            out.u8(r.invokeID)
            if r.segmented {
                out.u8(r.sequenceNumber ?? 0)
                out.u8(r.windowSize ?? 1)
            }
            out.u8(r.service)
            out.append(r.body)
        case .unconfirmedRequest(let service, let body):
            out.u8(0x10)
            out.u8(service)
            out.append(body)
        case .simpleACK(let id, let service):
            out.append([0x20, id, service])
        case .complexACK(let a):
            var first: UInt8 = 0x30
            if a.segmented { first |= 0x08 }
            if a.moreFollows { first |= 0x04 }
            out.append([first, a.invokeID])
            if a.segmented {
                out.u8(a.sequenceNumber ?? 0)
                out.u8(a.windowSize ?? 1)
            }
            out.u8(a.service)
            out.append(a.body)
        case .segmentACK(let negative, let server, let id, let sequence, let window):
            out.append([0x40 | (negative ? 0x02 : 0) | (server ? 0x01 : 0), id, sequence, window])
        case .error(let id, let service, let body):
            out.append([0x50, id, service])
            out.append(body)
        case .reject(let id, let reason):
            out.append([0x60, id, reason])
        case .abort(let server, let id, let reason):
            out.append([0x70 | (server ? 0x01 : 0), id, reason])
        }
        return out.bytes
    }
}

/// Service choices of confirmed requests (clause 21) that Plenum sends or answers.
public enum BACnetConfirmedService {
    public static let confirmedCOVNotification: UInt8 = 1
    public static let subscribeCOV: UInt8 = 5
    public static let readProperty: UInt8 = 12
    public static let readPropertyMultiple: UInt8 = 14
    public static let writeProperty: UInt8 = 15
}

/// Service choices of unconfirmed requests.
public enum BACnetUnconfirmedService {
    public static let iAm: UInt8 = 0
    public static let unconfirmedCOVNotification: UInt8 = 2
    public static let whoIs: UInt8 = 8
}
