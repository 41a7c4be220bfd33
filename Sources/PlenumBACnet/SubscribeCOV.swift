/// SubscribeCOV (clause 13.14): ask a device to send change-of-value notifications for one
/// object to this subscriber, confirmed or not, for `lifetime` seconds (0 = indefinitely).
/// A request with neither `confirmed` nor `lifetime` cancels the subscription.
public struct SubscribeCOV: Sendable, Equatable {
    public var processID: UInt32
    public var object: BACnetObjectIdentifier
    public var confirmed: Bool?
    public var lifetime: UInt32?

    public init(processID: UInt32, object: BACnetObjectIdentifier, confirmed: Bool?, lifetime: UInt32?) {
        self.processID = processID
        self.object = object
        self.confirmed = confirmed
        self.lifetime = lifetime
    }

    /// The cancellation of `processID`'s subscription to `object`.
    public static func cancel(processID: UInt32, object: BACnetObjectIdentifier) -> SubscribeCOV {
        SubscribeCOV(processID: processID, object: object, confirmed: nil, lifetime: nil)
    }

    public var isCancellation: Bool { confirmed == nil && lifetime == nil }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        out.contextUnsigned(0, UInt64(processID))
        out.contextObjectIdentifier(1, object)
        if let confirmed { out.contextUnsigned(2, confirmed ? 1 : 0) }
        if let lifetime { out.contextUnsigned(3, UInt64(lifetime)) }
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> SubscribeCOV {
        var reader = ByteReader(body)
        let processID = try reader.contextUInt32(0, "subscriber process id")
        let object = try reader.contextObjectIdentifier(1, "monitored object")
        let confirmed = try reader.hasContext(2) ? try reader.contextBoolean(2, "issue confirmed notifications") : nil
        let lifetime = try reader.optionalContextUInt32(3, "lifetime")
        try reader.expectEnd("SubscribeCOV")
        return SubscribeCOV(processID: processID, object: object, confirmed: confirmed, lifetime: lifetime)
    }
}

/// A COV notification (clause 13.7/13.8), confirmed or unconfirmed: the new values of a
/// monitored object (typically `present-value` and `status-flags`).
public struct COVNotification: Sendable, Equatable {
    public struct PropertyValue: Sendable, Equatable {
        public var property: BACnetPropertyIdentifier
        public var index: UInt32?
        public var values: [BACnetValue]
        public var priority: UInt8?

        public init(
            property: BACnetPropertyIdentifier,
            index: UInt32? = nil,
            values: [BACnetValue],
            priority: UInt8? = nil
        ) {
            self.property = property
            self.index = index
            self.values = values
            self.priority = priority
        }
    }

    public var processID: UInt32
    public var initiatingDevice: BACnetObjectIdentifier
    public var object: BACnetObjectIdentifier
    /// Seconds left of the subscription (0 for an indefinite one).
    public var timeRemaining: UInt32
    public var values: [PropertyValue]

    public init(
        processID: UInt32,
        initiatingDevice: BACnetObjectIdentifier,
        object: BACnetObjectIdentifier,
        timeRemaining: UInt32,
        values: [PropertyValue]
    ) {
        self.processID = processID
        self.initiatingDevice = initiatingDevice
        self.object = object
        self.timeRemaining = timeRemaining
        self.values = values
    }

    public func encode() -> [UInt8] {
        var out = ByteWriter()
        out.contextUnsigned(0, UInt64(processID))
        out.contextObjectIdentifier(1, initiatingDevice)
        out.contextObjectIdentifier(2, object)
        out.contextUnsigned(3, UInt64(timeRemaining))
        out.opening(4)
        for value in values {
            out.contextUnsigned(0, UInt64(value.property.rawValue))
            if let index = value.index { out.contextUnsigned(1, UInt64(index)) }
            out.opening(2)
            for item in value.values { item.encode(into: &out) }
            out.closing(2)
            if let priority = value.priority { out.contextUnsigned(3, UInt64(priority)) }
        }
        out.closing(4)
        return out.bytes
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(BACnetDecodingError) -> COVNotification {
        var reader = ByteReader(body)
        let processID = try reader.contextUInt32(0, "subscriber process id")
        let device = try reader.contextObjectIdentifier(1, "initiating device")
        let object = try reader.contextObjectIdentifier(2, "monitored object")
        let remaining = try reader.contextUInt32(3, "time remaining")
        try reader.opening(4, "list of values")
        var values: [PropertyValue] = []
        while try !reader.hasClosing(4) {
            let property = try reader.contextProperty(0)
            let index = try reader.optionalContextUInt32(1, "array index")
            try reader.opening(2, "value")
            let items = try BACnetValue.decodeList(&reader, closing: 2)
            let priority = try reader.optionalContextUnsigned(3, "priority", max: 16)
            values.append(
                PropertyValue(
                    property: property,
                    index: index,
                    values: items,
                    priority: priority.map { UInt8(truncatingIfNeeded: $0) }
                )
            )
            guard values.count <= ReadPropertyMultiple.maxEntries else { throw .malformed("too many values") }
        }
        try reader.expectEnd("COV notification")
        return COVNotification(
            processID: processID,
            initiatingDevice: device,
            object: object,
            timeRemaining: remaining,
            values: values
        )
    }
}

extension SubscribeCOV {
    /// When to renew a subscription of `lifetime` seconds: after half of a short one (up to
    /// 20 s), otherwise after three quarters but at least 5 s before it ends. Nil for an
    /// indefinite one (0).
    public static func renewalInterval(lifetime: UInt32) -> Double? {
        guard lifetime > 0 else { return nil }
        let seconds = Double(lifetime)
        return seconds <= 20 ? seconds / 2 : min(seconds * 0.75, seconds - 5)
    }
}
