import PlenumCore

/// A blocking BACnet/IP client on one UDP socket, used from one thread (a device's).
///
/// - Confirmed requests get an invoke id each and are retried with the same id until a reply
///   with that id arrives **from the device asked** (replies to other ids, late replies to
///   earlier requests and replies from other addresses are dropped), or the retries run out.
/// - While a call waits, everything else that arrives is handled: COV notifications go into a
///   bounded queue (confirmed ones are acknowledged with Simple-ACK at once, even when the
///   queue is full and the oldest is dropped), I-Am updates the device address cache.
/// - The client asks for at most 1476-byte APDUs and never accepts segmented responses: a
///   reply that would need segmentation fails with `.segmentation` (the device answers with an
///   Abort, or a segmented Complex-ACK that the client aborts); read fewer properties per call.
/// - `interrupt` (another thread) or `stopping` (asked every 100 ms) end a blocking call with
///   `.interrupted`; see `BACnetInterrupt` for why this is race-free.
public final class BACnetClient {
    public struct Options: Sendable {
        /// Seconds to wait for each attempt's reply.
        public var timeout: Double = 3
        /// Attempts after the first.
        public var retries = 2
        /// Where Who-Is goes when no target is given.
        public var broadcast = BACnetIPAddress(host: 0xFFFF_FFFF, port: BACnetIPAddress.standardPort)
        /// Notifications kept while nobody takes them; beyond it the oldest is dropped.
        public var queueLimit = 1_024

        public init() {}
    }

    /// A device that answered Who-Is.
    public struct Device: Sendable, Equatable {
        public var iAm: IAm
        public var address: BACnetDeviceAddress
    }

    /// A COV notification as received.
    public struct Notification: Sendable {
        public var notification: COVNotification
        public var source: BACnetDeviceAddress
        public var confirmed: Bool
        /// `CLOCK_MONOTONIC` nanoseconds when the datagram was taken from the socket.
        public var receivedAt: UInt64
    }

    public let options: Options
    public let interrupt: BACnetInterrupt
    /// Asked every 100 ms while a call blocks; true ends the call with `.interrupted`.
    public var stopping: () -> Bool = { false }
    private let socket: UDPSocket
    private var buffer = [UInt8](repeating: 0, count: 2_048)
    private var nextInvokeID: UInt8 = 0
    private var devices: [UInt32: Device] = [:]
    private var queue: [Notification] = []
    private var queueHead = 0
    /// Notifications dropped because the queue was full.
    public private(set) var droppedNotifications = 0
    /// Datagrams that did not decode (logged by the caller if it wants).
    public private(set) var malformedDatagrams = 0
    public private(set) var lastMalformed: BACnetDecodingError?

    /// Binds `host:port` ("0.0.0.0" for every interface; port 0 for any free port).
    public init(
        host: String = "0.0.0.0",
        port: UInt16 = BACnetIPAddress.standardPort,
        options: Options = Options()
    )
        throws(BACnetError)
    {
        guard let bind = BACnetIPAddress(host + ":1") else {
            throw BACnetError(.invalidArgument, "'\(host)' is not an IPv4 address")
        }
        guard options.timeout.isFinite, options.timeout > 0, options.timeout <= 3_600 else {
            throw BACnetError(.invalidArgument, "timeout must be a number of seconds in (0, 3600]")
        }
        guard (0...10).contains(options.retries) else { throw BACnetError(.invalidArgument, "retries must be 0…10") }
        guard (1...100_000).contains(options.queueLimit) else {
            throw BACnetError(.invalidArgument, "queue must be 1…100000 notifications")
        }
        self.options = options
        interrupt = try BACnetInterrupt()
        socket = try UDPSocket(host: bind.host, port: port)
    }

    deinit { socket.close() }

    /// The UDP port the client is bound to.
    public var localPort: UInt16 { socket.localPort }

    /// Closes the socket; every later call fails with `.interrupted`.
    public func close() { socket.close() }

    public var isClosed: Bool { !socket.isOpen }

    // MARK: - Discovery

    /// Sends Who-Is (to `target`, or the broadcast address) and collects I-Ams until `deadline`
    /// — or, when `range` names a single device, until that device answers.
    public func whoIs(
        range: ClosedRange<UInt32>?,
        target: BACnetIPAddress?,
        until deadline: Deadline
    )
        throws(BACnetError) -> [Device]
    {
        let destination = target ?? options.broadcast
        let datagram = BACnetMessage.encode(
            .unconfirmedRequest(service: BACnetUnconfirmedService.whoIs, body: WhoIs(range: range).encode()[...]),
            broadcast: target == nil
        )
        try socket.send(datagram, to: destination)
        var found: [Device] = []
        while let received = try socket.receive(
            into: &buffer,
            until: deadline,
            interrupt: interrupt,
            stopping: stopping
        ) {
            guard case .iAm(let device)? = handle(count: received.count, from: received.from, awaiting: nil) else {
                continue
            }
            if let range, !range.contains(device.iAm.device.instance) { continue }
            if !found.contains(device) { found.append(device) }
            if let range, range.count == 1 { break }
        }
        return found
    }

    /// The address of device `instance`: from the cache of I-Ams, or by a Who-Is for it.
    public func resolve(device instance: UInt32, until deadline: Deadline) throws(BACnetError) -> BACnetDeviceAddress {
        if let known = devices[instance] { return known.address }
        let found = try whoIs(range: instance...instance, target: nil, until: deadline)
        guard let device = found.first else {
            throw BACnetError(
                .deviceNotFound,
                "no I-Am from device \(instance) (Who-Is sent to \(options.broadcast))"
            )
        }
        return device.address
    }

    /// Drops what is cached for device `instance` (after a timeout: it may have moved).
    public func forget(device instance: UInt32) { devices[instance] = nil }

    /// What the cache knows of device `instance`.
    public func cachedDevice(_ instance: UInt32) -> Device? { devices[instance] }

    // MARK: - Services

    public func readProperty(
        _ address: BACnetDeviceAddress,
        object: BACnetObjectIdentifier,
        property: BACnetPropertyIdentifier,
        index: UInt32? = nil
    ) throws(BACnetError) -> [BACnetValue] {
        let request = ReadProperty(object: object, property: property, index: index)
        let body = try confirmed(
            BACnetConfirmedService.readProperty,
            request.encode(),
            to: address,
            what: "ReadProperty \(object) \(property)"
        )
        do {
            return try ReadPropertyACK.decode(body).values
        } catch {
            throw BACnetError(.decoding, "ReadProperty-ACK from \(address): \(error)")
        }
    }

    public func readPropertyMultiple(
        _ address: BACnetDeviceAddress,
        _ request: ReadPropertyMultiple
    )
        throws(BACnetError) -> ReadPropertyMultipleACK
    {
        let body = try confirmed(
            BACnetConfirmedService.readPropertyMultiple,
            request.encode(),
            to: address,
            what: "ReadPropertyMultiple"
        )
        do {
            return try ReadPropertyMultipleACK.decode(body)
        } catch {
            throw BACnetError(.decoding, "ReadPropertyMultiple-ACK from \(address): \(error)")
        }
    }

    /// Writes `values`; with `priority`, into that slot of a commandable property's priority
    /// array. Writing `[.null]` at a priority relinquishes the slot.
    public func writeProperty(_ address: BACnetDeviceAddress, _ request: WriteProperty) throws(BACnetError) {
        if let priority = request.priority, !(1...16).contains(priority) {
            throw BACnetError(.invalidArgument, "priority \(priority) is not 1…16")
        }
        _ = try confirmed(
            BACnetConfirmedService.writeProperty,
            request.encode(),
            to: address,
            what: "WriteProperty \(request.object) \(request.property)"
        )
    }

    /// Subscribes (or, with `SubscribeCOV.cancel`, unsubscribes). A device that does not support
    /// COV for the object answers with an error (`services/optional-functionality-not-supported`,
    /// `object/unsupported-object-type`, …) or a reject.
    public func subscribeCOV(_ address: BACnetDeviceAddress, _ request: SubscribeCOV) throws(BACnetError) {
        _ = try confirmed(
            BACnetConfirmedService.subscribeCOV,
            request.encode(),
            to: address,
            what: "SubscribeCOV \(request.object)"
        )
    }

    /// The oldest queued COV notification, waiting for one until `deadline`. Nil on timeout.
    public func nextNotification(until deadline: Deadline) throws(BACnetError) -> Notification? {
        while true {
            if let next = dequeue() { return next }
            guard
                let received = try socket.receive(
                    into: &buffer,
                    until: deadline,
                    interrupt: interrupt,
                    stopping: stopping
                )
            else { return nil }
            _ = handle(count: received.count, from: received.from, awaiting: nil)
        }
    }

    /// Notifications waiting in the queue.
    public var queuedNotifications: Int { queue.count - queueHead }

    // MARK: - State the dispatcher updates

    func datagram(_ count: Int) -> ArraySlice<UInt8> { buffer[0..<min(max(count, 0), buffer.count)] }

    func noteMalformed(_ error: BACnetDecodingError) {
        malformedDatagrams += 1
        lastMalformed = error
    }

    func remember(_ device: Device) {
        let instance = device.iAm.device.instance
        if devices.count < 10_000 || devices[instance] != nil { devices[instance] = device }
    }

    func enqueue(_ notification: Notification) {
        queue.append(notification)
        if queue.count - queueHead > options.queueLimit {
            queueHead += 1
            droppedNotifications += 1
        }
        if queueHead > 256 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    func dequeue() -> Notification? {
        guard queueHead < queue.count else { return nil }
        defer {
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
        }
        return queue[queueHead]
    }

    func send(_ bytes: [UInt8], to destination: BACnetIPAddress) throws(BACnetError) {
        try socket.send(bytes, to: destination)
    }

    // MARK: - Transactions

    /// Sends a confirmed request and returns the Complex-ACK body (empty for a Simple-ACK).
    private func confirmed(
        _ service: UInt8,
        _ body: [UInt8],
        to address: BACnetDeviceAddress,
        what: String
    )
        throws(BACnetError) -> ArraySlice<UInt8>
    {
        let invokeID = nextInvokeID
        nextInvokeID &+= 1
        let apdu = APDU.confirmedRequest(.init(invokeID: invokeID, service: service, body: body[...]))
        let encoded = apdu.encode()
        let limit = min(1_476, Int(devices.values.first { $0.address == address }?.iAm.maxAPDU ?? 1_476))
        guard encoded.count <= limit else {
            throw BACnetError(
                .invalidArgument,
                "\(what): the request is \(encoded.count) bytes, more than the device's \(limit)-byte APDU limit"
            )
        }
        let datagram = BACnetMessage.encode(apdu, remote: address.remote, expectingReply: true)
        for _ in 0...options.retries {
            try socket.send(datagram, to: address.ip)
            let deadline = (try? Deadline(seconds: options.timeout)) ?? .never
            while let received = try socket.receive(
                into: &buffer,
                until: deadline,
                interrupt: interrupt,
                stopping: stopping
            ) {
                guard
                    case .reply(let reply)? = handle(
                        count: received.count,
                        from: received.from,
                        awaiting: (invokeID, address)
                    )
                else { continue }
                return try outcome(reply, what: what, from: address)
            }
        }
        throw BACnetError(
            .timeout,
            "no reply from \(address) to \(what) after \(options.retries + 1) attempts of \(options.timeout) s"
        )
    }

    private func outcome(
        _ reply: APDU,
        what: String,
        from address: BACnetDeviceAddress
    ) throws(BACnetError)
        -> ArraySlice<UInt8>
    {
        switch reply {
        case .simpleACK: return []
        case .complexACK(let ack):
            if ack.segmented {
                let abort = APDU.abort(
                    fromServer: false,
                    invokeID: ack.invokeID,
                    reason: BACnetAbortReason.segmentationNotSupported
                )
                try? socket.send(BACnetMessage.encode(abort, remote: address.remote), to: address.ip)
                throw BACnetError(
                    .segmentation,
                    "\(what): \(address) sent a segmented reply; Plenum does not accept segmentation (read fewer properties per call)"
                )
            }
            return ack.body
        case .error(_, _, let body):
            guard let code = try? BACnetErrorCode.decode(body) else {
                throw BACnetError(.error, "\(what) failed at \(address) (undecodable error)")
            }
            throw BACnetError(.error, "\(code) (\(what) at \(address))", errorCode: code)
        case .reject(_, let reason):
            throw BACnetError(.reject, "\(BACnetRejectReason.name(reason)) (\(what) at \(address))")
        case .abort(_, _, let reason):
            if reason == BACnetAbortReason.segmentationNotSupported {
                throw BACnetError(
                    .segmentation,
                    "\(what): the reply from \(address) needs segmentation, which Plenum does not accept (read fewer properties per call)"
                )
            }
            throw BACnetError(.abort, "\(BACnetAbortReason.name(reason)) (\(what) at \(address))")
        default:
            throw BACnetError(.decoding, "\(what): unexpected reply from \(address)")
        }
    }
}
