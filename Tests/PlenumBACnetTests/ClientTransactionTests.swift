import Foundation
import Glibc
import PlenumBACnet
import PlenumCore
import Testing

/// Transaction rules the bacpypes3 peer never exercises (it answers in order, never segments):
/// a scripted device on a raw UDP socket sends exactly the datagrams each test needs.
@Suite struct ClientTransactionTests {
    /// A UDP socket on 127.0.0.1 that records what it receives and sends what it is told to.
    final class ScriptedDevice: @unchecked Sendable {
        // Safe: each instance is used by one test thread at a time (the client runs on
        // another thread only between `start` and `join`, and touches nothing here).
        let fd: Int32
        let port: UInt16

        init() {
            let socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0
                }
            }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            fd = socketFD
            port = UInt16(bigEndian: address.sin_port)
        }

        deinit { close(fd) }

        /// Whether a datagram is waiting (without waiting for one).
        var hasPending: Bool {
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) >= 0
        }

        /// Sends `apdu` as a BBMD relays it: a Forwarded-NPDU naming `original` (a port on
        /// 127.0.0.1) as its sender, from this socket.
        func forward(_ apdu: APDU, from original: UInt16, to port: UInt16) {
            guard let npdu = try? BVLC.decode(BACnetMessage.encode(apdu)).npdu else { return }
            let bytes = BVLC.forwarded(source: BACnetIPAddress(host: 0x7F00_0001, port: original), npdu: npdu).encode()
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }

        /// The next datagram (bounded: 5 s) and its sender's port.
        func receive() -> (message: BACnetMessage, port: UInt16)? {
            var buffer = [UInt8](repeating: 0, count: 2_048)
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
                }
            }
            guard count > 0, let message = try? BACnetMessage.decode(Array(buffer[0..<count])) else { return nil }
            return (message, UInt16(bigEndian: from.sin_port))
        }

        func send(_ apdu: APDU, to port: UInt16, from socketFD: Int32? = nil) {
            let bytes = BACnetMessage.encode(apdu)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socketFD ?? fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    static let ai1 = BACnetObjectIdentifier("analog-input:1")!

    static func ack(_ invokeID: UInt8, _ value: Float) -> APDU {
        let body = ReadPropertyACK(object: ai1, property: .presentValue, values: [.real(value)]).encode()
        return .complexACK(.init(invokeID: invokeID, service: BACnetConfirmedService.readProperty, body: body[...]))
    }

    /// Runs `read` on its own thread while `device` plays its part on this one.
    static func reading(
        from device: ScriptedDevice,
        _ play: (ScriptedDevice, UInt8, UInt16) -> Void
    ) throws -> (Result<[BACnetValue], BACnetError>, BACnetClient) {
        var options = BACnetClient.Options()
        options.timeout = 2
        options.retries = 0
        let client = try BACnetClient(host: "127.0.0.1", port: 0, options: options)
        let address = BACnetDeviceAddress(ip: BACnetIPAddress(host: 0x7F00_0001, port: device.port))
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<[BACnetValue], BACnetError>?
        nonisolated(unsafe) let unsafeClient = client
        Thread.detachNewThread {
            result = Result { () throws(BACnetError) in
                try unsafeClient.readProperty(address, object: ai1, property: .presentValue)
            }
            done.signal()
        }
        guard let request = device.receive(), case .confirmedRequest(let r)? = request.message.apdu else {
            throw BACnetError(.timeout, "the client sent nothing")
        }
        play(device, r.invokeID, request.port)
        #expect(done.wait(timeout: .now() + 10) == .success)
        return (result ?? .failure(BACnetError(.timeout, "no result")), client)
    }

    @Test func repliesAreMatchedByInvokeIDAndSource() throws {
        let device = ScriptedDevice()
        let other = ScriptedDevice()
        let (result, _) = try Self.reading(from: device) { device, id, client in
            device.send(Self.ack(id &+ 1, 1), to: client)  // another transaction's (late) reply
            other.send(Self.ack(id, 2), to: client)  // the right id from the wrong device
            device.send(Self.ack(id, 3), to: client)  // the reply
        }
        #expect(try result.get() == [.real(3)])
    }

    @Test func aNotificationDuringATransactionIsQueuedAndAcknowledged() throws {
        let device = ScriptedDevice()
        let notification = COVNotification(
            processID: 1,
            initiatingDevice: BACnetObjectIdentifier("device:9")!,
            object: Self.ai1,
            timeRemaining: 60,
            values: [.init(property: .presentValue, values: [.real(7)])]
        )
        var acknowledged: APDU?
        let (result, client) = try Self.reading(from: device) { device, id, client in
            device.send(
                .confirmedRequest(
                    .init(
                        invokeID: 42,
                        service: BACnetConfirmedService.confirmedCOVNotification,
                        body: notification.encode()[...]
                    )
                ),
                to: client
            )
            acknowledged = device.receive()?.message.apdu
            device.send(Self.ack(id, 5), to: client)
        }
        #expect(try result.get() == [.real(5)])
        #expect(acknowledged == .simpleACK(invokeID: 42, service: BACnetConfirmedService.confirmedCOVNotification))
        let queued = try client.nextNotification(until: Deadline(seconds: 0))
        #expect(queued?.notification == notification)
        #expect(queued?.confirmed == true)
    }

    @Test func aSegmentedReplyIsAbortedAndReported() throws {
        let device = ScriptedDevice()
        var abort: APDU?
        var invokeID: UInt8 = 0
        let (result, _) = try Self.reading(from: device) { device, id, client in
            invokeID = id
            var ack = APDU.ComplexACK(invokeID: id, service: BACnetConfirmedService.readProperty, body: [0x0c][...])
            ack.segmented = true
            ack.moreFollows = true
            ack.sequenceNumber = 0
            ack.windowSize = 1
            device.send(.complexACK(ack), to: client)
            abort = device.receive()?.message.apdu
        }
        guard case .failure(let error) = result else {
            Issue.record("a segmented reply was accepted")
            return
        }
        #expect(error.code == .segmentation)
        #expect(error.description.contains("read fewer properties per call"))
        #expect(
            abort == .abort(fromServer: false, invokeID: invokeID, reason: BACnetAbortReason.segmentationNotSupported)
        )
    }

    /// A BBMD relays datagrams as Forwarded-NPDUs naming their original sender (Annex J.2.5;
    /// docs/bacnet.md "Network setup"): the client acknowledges a relayed confirmed
    /// notification to that sender, not to the BBMD, queues it as the sender's, and takes a
    /// relayed reply as the reply of the device it named.
    @Test func aForwardedRequestIsAnsweredToItsOriginalSender() throws {
        let device = ScriptedDevice()
        let bbmd = ScriptedDevice()
        let notifier = ScriptedDevice()
        let notification = COVNotification(
            processID: 3,
            initiatingDevice: BACnetObjectIdentifier("device:77")!,
            object: Self.ai1,
            timeRemaining: 60,
            values: [.init(property: .presentValue, values: [.real(8)])]
        )
        var acknowledged: APDU?
        var bbmdHeardBack = true
        let (result, client) = try Self.reading(from: device) { device, id, client in
            bbmd.forward(
                .confirmedRequest(
                    .init(
                        invokeID: 9,
                        service: BACnetConfirmedService.confirmedCOVNotification,
                        body: notification.encode()[...]
                    )
                ),
                from: notifier.port,
                to: client
            )
            acknowledged = notifier.receive()?.message.apdu
            bbmdHeardBack = bbmd.hasPending
            bbmd.forward(Self.ack(id, 6), from: device.port, to: client)
        }
        #expect(try result.get() == [.real(6)])
        #expect(acknowledged == .simpleACK(invokeID: 9, service: BACnetConfirmedService.confirmedCOVNotification))
        #expect(!bbmdHeardBack)
        #expect(!bbmd.hasPending)
        let queued = try client.nextNotification(until: Deadline(seconds: 0))
        #expect(queued?.notification == notification)
        #expect(queued?.source == BACnetDeviceAddress(ip: BACnetIPAddress(host: 0x7F00_0001, port: notifier.port)))
    }
}
