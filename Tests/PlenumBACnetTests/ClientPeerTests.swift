import Foundation
import PlenumBACnet
import PlenumCore
import PlenumTestSupport
import Testing

/// The client against a real BACnet device: the bacpypes3 peer on loopback.
@Suite(.serialized) struct ClientPeerTests {
    static let ai1 = BACnetObjectIdentifier("analog-input:1")!
    static let av1 = BACnetObjectIdentifier("analog-value:1")!
    static let bv1 = BACnetObjectIdentifier("binary-value:1")!

    static func client(timeout: Double = 2, retries: Int = 1, broadcast: String? = nil) throws -> BACnetClient {
        var options = BACnetClient.Options()
        options.timeout = timeout
        options.retries = retries
        if let broadcast { options.broadcast = BACnetIPAddress(broadcast)! }
        return try BACnetClient(host: "127.0.0.1", port: 0, options: options)
    }

    static func seconds(_ s: Double) -> Deadline { try! Deadline(seconds: s) }

    @Test func discoveryDirectedAndBroadcast() async throws {
        try await offPool {
            let peer = try BACnetPeer(instance: 4242)
            defer { peer.kill() }
            let client = try Self.client(broadcast: peer.broadcast)
            let directed = try client.whoIs(range: nil, target: BACnetIPAddress(peer.address), until: Self.seconds(2))
            #expect(directed.map(\.iAm.device.instance) == [4242])
            #expect(directed.first?.address.description == peer.address)
            client.forget(device: 4242)
            let broadcast = try client.whoIs(range: 4242...4242, target: nil, until: Self.seconds(3))
            #expect(broadcast.map(\.iAm.device.instance) == [4242])
            let none = try client.whoIs(range: 1...10, target: nil, until: Self.seconds(1))
            #expect(none.isEmpty)
            let resolved = try client.resolve(device: 4242, until: Self.seconds(3))
            #expect(resolved.description == peer.address)
        }
    }

    @Test func everyReadTheDeviceAnswers() async throws {
        try await offPool {
            let peer = try BACnetPeer(instance: 4243)
            defer { peer.kill() }
            let client = try Self.client()
            let device = BACnetDeviceAddress(ip: BACnetIPAddress(peer.address)!)
            guard
                case .real(let supply)? = try client.readProperty(device, object: Self.ai1, property: .presentValue)
                    .first
            else {
                Issue.record("analog-input present-value is not a real")
                return
            }
            #expect(supply >= 20)
            #expect(
                try client.readProperty(device, object: Self.ai1, property: .objectName) == [
                    .characterString("supply-temp")
                ]
            )
            #expect(
                try client.readProperty(device, object: Self.ai1, property: .statusFlags) == [
                    .bitString(BACnetBitString([false, false, false, false]))
                ]
            )
            #expect(try client.readProperty(device, object: Self.ai1, property: .units) == [.enumerated(62)])
            #expect(try client.readProperty(device, object: Self.bv1, property: .presentValue) == [.enumerated(1)])
            let array = try client.readProperty(device, object: Self.av1, property: .priorityArray)
            #expect(array.count == 16)
            #expect(array.allSatisfy { $0 == .null })
            #expect(
                try client.readProperty(device, object: Self.av1, property: .priorityArray, index: 0) == [.unsigned(16)]
            )
            let deviceObject = BACnetObjectIdentifier("device:4243")!
            let objects = try client.readProperty(device, object: deviceObject, property: .objectList)
            #expect(objects.contains(.objectIdentifier(Self.av1)))
            #expect(objects.contains(.objectIdentifier(Self.bv1)))

            let multiple = try client.readPropertyMultiple(
                device,
                ReadPropertyMultiple([
                    .init(object: Self.ai1, properties: [.init(.presentValue), .init(.units)]),
                    .init(object: Self.av1, properties: [.init(BACnetPropertyIdentifier(name: "relinquish-default")!)]),
                    .init(object: Self.bv1, properties: [.init(BACnetPropertyIdentifier(name: "cov-increment")!)]),
                ])
            )
            #expect(multiple.results.count == 3)
            #expect(multiple.results[1].items.first?.result == .success([.real(21)]))
            guard case .failure(let error)? = multiple.results[2].items.first?.result else {
                Issue.record("cov-increment of a binary-value should be an access error")
                return
            }
            #expect(error.description == "property/unknown-property")
        }
    }

    @Test func errorsNameTheBACnetErrorClassAndCode() async throws {
        try await offPool {
            let peer = try BACnetPeer(instance: 4244)
            defer { peer.kill() }
            let client = try Self.client()
            let device = BACnetDeviceAddress(ip: BACnetIPAddress(peer.address)!)
            let missing = BACnetObjectIdentifier("analog-input:99")!
            #expect(throws: BACnetError.self) {
                try client.readProperty(device, object: missing, property: .presentValue)
            }
            do {
                _ = try client.readProperty(device, object: missing, property: .presentValue)
            } catch let error as BACnetError {
                #expect(error.code == .error)
                #expect(error.description.hasPrefix("error: object/unknown-object"))
            }
            do {
                try client.writeProperty(
                    device,
                    WriteProperty(object: Self.ai1, property: .presentValue, values: [.characterString("x")])
                )
                Issue.record("writing a string to an analog-input's present-value should fail")
            } catch let error as BACnetError {
                // bacpypes3 rejects a value of the wrong type; the reason is named.
                #expect(error.description.hasPrefix("reject: invalid-tag (WriteProperty analog-input:1"), "\(error)")
            }
            do {
                let outdoor = BACnetObjectIdentifier("analog-value:2")!
                try client.subscribeCOV(
                    device,
                    SubscribeCOV(processID: 1, object: outdoor, confirmed: false, lifetime: 60)
                )
                Issue.record("analog-value:2 should refuse COV")
            } catch let error as BACnetError {
                #expect(error.description.hasPrefix("error: services/cov-subscription-failed"), "\(error)")
            }
        }
    }

    @Test func writeWithPriorityThenRelinquishAsSeenAtThePeer() async throws {
        try await offPool {
            let peer = try BACnetPeer(instance: 4245)
            defer { peer.kill() }
            let client = try Self.client()
            let device = BACnetDeviceAddress(ip: BACnetIPAddress(peer.address)!)
            try client.writeProperty(
                device,
                WriteProperty(object: Self.av1, property: .presentValue, values: [.real(55)], priority: 8)
            )
            let written = peer.waitForPriorityArray { $0.count == 16 && $0[7] == 55 }
            #expect(written != nil, "peer output: \(peer.output)")
            #expect(written?.enumerated().allSatisfy { $0.offset == 7 || $0.element == nil } == true)
            #expect(try client.readProperty(device, object: Self.av1, property: .presentValue) == [.real(55)])

            try client.writeProperty(
                device,
                WriteProperty(object: Self.av1, property: .presentValue, values: [.null], priority: 8)
            )
            let relinquished = peer.waitForPriorityArray { $0.count == 16 && $0.allSatisfy { $0 == nil } }
            #expect(relinquished != nil, "peer output: \(peer.output)")
            #expect(try client.readProperty(device, object: Self.av1, property: .presentValue) == [.real(21)])
        }
    }

    @Test func covNotificationsConfirmedAndUnconfirmed() async throws {
        try await offPool {
            let peer = try BACnetPeer(instance: 4246, period: 0.5)
            defer { peer.kill() }
            let client = try Self.client()
            let device = BACnetDeviceAddress(ip: BACnetIPAddress(peer.address)!)
            try client.subscribeCOV(
                device,
                SubscribeCOV(processID: 7, object: Self.ai1, confirmed: false, lifetime: 60)
            )
            var unconfirmed: [BACnetClient.Notification] = []
            let deadline = Self.seconds(10)
            while unconfirmed.count < 3, let next = try client.nextNotification(until: deadline) {
                unconfirmed.append(next)
            }
            #expect(unconfirmed.count == 3)
            #expect(unconfirmed.allSatisfy { !$0.confirmed && $0.notification.object == Self.ai1 })
            #expect(unconfirmed.allSatisfy { $0.notification.values.contains { $0.property == .presentValue } })
            try client.subscribeCOV(device, .cancel(processID: 7, object: Self.ai1))

            try client.subscribeCOV(device, SubscribeCOV(processID: 8, object: Self.ai1, confirmed: true, lifetime: 60))
            var confirmed: [BACnetClient.Notification] = []
            let later = Self.seconds(10)
            while confirmed.count < 3, let next = try client.nextNotification(until: later) {
                if next.notification.processID == 8 { confirmed.append(next) }
            }
            #expect(confirmed.count == 3)
            #expect(confirmed.allSatisfy { $0.confirmed })
            // Each one was acknowledged, so the peer sent each value once.
            let values = confirmed.compactMap { $0.notification.values.first { $0.property == .presentValue }?.values }
            #expect(Set(values.map { "\($0)" }).count == values.count)
        }
    }

    @Test func aSubscriptionEndsWithItsLifetimeUnlessRenewed() async throws {
        try await offPool {
            let peer = try BACnetPeer(instance: 4247, period: 0.3)
            defer { peer.kill() }
            let client = try Self.client()
            let device = BACnetDeviceAddress(ip: BACnetIPAddress(peer.address)!)
            // Renewed every second with a 2 s lifetime: notifications keep coming for 4 s.
            let start = Deadline.now()
            var renewals = 0
            var late = 0
            var renewAt = Deadline.now()
            let end = Self.seconds(4)
            while !end.hasPassed {
                if renewAt.hasPassed {
                    try client.subscribeCOV(
                        device,
                        SubscribeCOV(processID: 9, object: Self.ai1, confirmed: false, lifetime: 2)
                    )
                    renewals += 1
                    renewAt = Self.seconds(1)
                }
                if let next = try client.nextNotification(until: min(renewAt, end)),
                    Deadline.now().uptimeNanoseconds - start.uptimeNanoseconds > 2_500_000_000
                {
                    late += next.notification.processID == 9 ? 1 : 0
                }
            }
            #expect(renewals >= 3)
            #expect(late > 0, "notifications stopped although the subscription was renewed")

            // Not renewed: after the lifetime, nothing more arrives.
            let quiet = Self.seconds(3.5)
            while try client.nextNotification(until: quiet) != nil {}
            var after = 0
            let window = Self.seconds(2)
            while let next = try client.nextNotification(until: window) {
                if next.notification.processID == 9 { after += 1 }
            }
            #expect(after == 0)
        }
    }

    @Test func anInterruptEndsABlockingCallFromAnotherThread() async throws {
        let result = try await offPool { () -> String in
            let client = try Self.client()
            let interrupt = client.interrupt
            Thread.detachNewThread {
                usleep(200_000)
                interrupt.interrupt()
            }
            do {
                _ = try client.nextNotification(until: Self.seconds(30))
                return "returned"
            } catch {
                return "\(error)"
            }
        }
        #expect(result == "interrupted: the device is stopping")
    }

    @Test func aPortInUseIsRefused() throws {
        let first = try BACnetClient(host: "127.0.0.1", port: 0)
        do {
            _ = try BACnetClient(host: "127.0.0.1", port: first.localPort)
            Issue.record("a second client bound the same port")
        } catch {
            #expect(error.description == "socket: bind 127.0.0.1:\(first.localPort): Address already in use")
        }
        #expect(throws: BACnetError.self) { try BACnetClient(host: "localhost", port: 0) }
    }

    @Test func noReplyIsATimeoutAfterTheRetries() async throws {
        try await offPool {
            let silent = try BACnetPeer.freeUDPPort()
            let client = try Self.client(timeout: 0.2, retries: 2)
            let device = BACnetDeviceAddress(ip: BACnetIPAddress("127.0.0.1:\(silent)")!)
            do {
                _ = try client.readProperty(device, object: Self.ai1, property: .presentValue)
                Issue.record("a read from nowhere returned")
            } catch let error as BACnetError {
                #expect(error.code == .timeout)
                #expect(error.description.contains("after 3 attempts"))
            }
        }
    }
}
