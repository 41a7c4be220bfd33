import PlenumCore

extension BACnetClient {
    /// What a received datagram meant to the call that waits.
    enum Handled {
        /// The reply to the awaited transaction.
        case reply(APDU)
        /// An I-Am (already cached).
        case iAm(Device)
    }

    /// Handles one received datagram: queues and acknowledges notifications, caches I-Ams,
    /// rejects requests a client does not serve, and returns the awaited reply if this is it.
    func handle(
        count: Int,
        from sender: BACnetIPAddress,
        awaiting: (invokeID: UInt8, address: BACnetDeviceAddress)?
    )
        -> Handled?
    {
        let receivedAt = Deadline.monotonicNanoseconds()
        let message: BACnetMessage
        do {
            message = try BACnetMessage.decode(datagram(count))
        } catch {
            noteMalformed(error)
            return nil
        }
        guard let npdu = message.npdu, let apdu = message.apdu else { return nil }
        var origin = sender
        if case .forwarded(let source, _) = message.bvlc { origin = source }
        let source = BACnetDeviceAddress(ip: origin, remote: npdu.source)
        switch apdu {
        case .simpleACK, .complexACK, .error, .reject, .abort:
            guard let awaiting, apdu.replyInvokeID == awaiting.invokeID, source == awaiting.address else { return nil }
            return .reply(apdu)
        case .unconfirmedRequest(let service, let body):
            switch service {
            case BACnetUnconfirmedService.iAm:
                guard let iAm = try? IAm.decode(body) else { return nil }
                let device = Device(iAm: iAm, address: source)
                remember(device)
                return .iAm(device)
            case BACnetUnconfirmedService.unconfirmedCOVNotification:
                do {
                    let notification = try COVNotification.decode(body)
                    enqueue(
                        Notification(
                            notification: notification,
                            source: source,
                            confirmed: false,
                            receivedAt: receivedAt
                        )
                    )
                } catch {
                    noteMalformed(error)
                }
                return nil
            default:
                return nil
            }
        case .confirmedRequest(let request):
            let reply: APDU
            if request.service == BACnetConfirmedService.confirmedCOVNotification, !request.segmented {
                do {
                    let notification = try COVNotification.decode(request.body)
                    enqueue(
                        Notification(
                            notification: notification,
                            source: source,
                            confirmed: true,
                            receivedAt: receivedAt
                        )
                    )
                    reply = .simpleACK(invokeID: request.invokeID, service: request.service)
                } catch {
                    noteMalformed(error)
                    reply = .reject(invokeID: request.invokeID, reason: 3)
                }
            } else {
                // A client serves nothing else: reject (9 = unrecognized-service).
                reply = .reject(invokeID: request.invokeID, reason: 9)
            }
            try? send(BACnetMessage.encode(reply, remote: npdu.source), to: origin)
            return nil
        case .segmentACK:
            return nil
        }
    }
}
