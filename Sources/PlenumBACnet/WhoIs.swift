/// Who-Is (clause 16.10): asks devices — all, or those whose instance is in `low...high` — to
/// announce themselves with I-Am.
public struct WhoIs: Sendable, Equatable {
    public var range: ClosedRange<UInt32>?

    public init(range: ClosedRange<UInt32>? = nil) { self.range = range }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        if let range {
            out.contextUnsigned(0, UInt64(range.lowerBound))
            out.contextUnsigned(1, UInt64(range.upperBound))
        }
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> WhoIs {
        var reader = ByteReader(body)
        if reader.isAtEnd { return WhoIs() }
        let max = UInt64(BACnetObjectIdentifier.maxInstance)
        let low = UInt32(truncatingIfNeeded: try reader.contextUnsigned(0, "low limit", max: max))
        let high = UInt32(truncatingIfNeeded: try reader.contextUnsigned(1, "high limit", max: max))
        try reader.expectEnd("Who-Is")
        guard low <= high else { throw .malformed("Who-Is low limit \(low) above high limit \(high)") }
        return WhoIs(range: low...high)
    }
}

/// I-Am (clause 16.10): a device's identifier, the largest APDU it accepts, its segmentation
/// support and its vendor.
public struct IAm: Sendable, Equatable {
    public var device: BACnetObjectIdentifier
    public var maxAPDU: UInt32
    /// 0 both, 1 transmit, 2 receive, 3 no segmentation.
    public var segmentation: UInt32
    public var vendorID: UInt32

    public init(device: BACnetObjectIdentifier, maxAPDU: UInt32, segmentation: UInt32, vendorID: UInt32) {
        self.device = device
        self.maxAPDU = maxAPDU
        self.segmentation = segmentation
        self.vendorID = vendorID
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        BACnetValue.objectIdentifier(device).encode(into: &out)
        BACnetValue.unsigned(UInt64(maxAPDU)).encode(into: &out)
        BACnetValue.enumerated(segmentation).encode(into: &out)
        BACnetValue.unsigned(UInt64(vendorID)).encode(into: &out)
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> IAm {
        var reader = ByteReader(body)
        guard case .objectIdentifier(let device) = try reader.applicationValue("I-Am device identifier"),
            device.type == .device
        else { throw .malformed("I-Am without a device identifier") }
        guard case .unsigned(let maxAPDU) = try reader.applicationValue("I-Am max APDU"), maxAPDU <= 65_535 else {
            throw .malformed("I-Am max APDU is not an unsigned up to 65535")
        }
        guard case .enumerated(let segmentation) = try reader.applicationValue("I-Am segmentation") else {
            throw .malformed("I-Am segmentation is not enumerated")
        }
        guard case .unsigned(let vendor) = try reader.applicationValue("I-Am vendor id"), vendor <= 65_535 else {
            throw .malformed("I-Am vendor id is not an unsigned up to 65535")
        }
        try reader.expectEnd("I-Am")
        return IAm(
            device: device,
            maxAPDU: UInt32(truncatingIfNeeded: maxAPDU),
            segmentation: segmentation,
            vendorID: UInt32(truncatingIfNeeded: vendor)
        )
    }
}
