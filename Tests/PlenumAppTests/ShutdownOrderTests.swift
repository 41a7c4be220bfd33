import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// The shutdown order of docs/architecture.md ("Lifecycle"), seen from what it promises: the
/// MQTT bridges stop after the devices (the broker keeps what the devices published on their
/// way out, then `offline`), and the trend store saves the channels last (a restart on the same
/// database continues with everything published up to the end, in the same epoch).
@Suite struct ShutdownOrderTests {
    /// A device that publishes `farewell` while it stops, and a bridge of its channels and status.
    private static func yaml(bridgePort: Int, trends: String = "") -> String {
        """
        site: order
        \(trends)
        devices:
          - name: farewell
            script: plugins/farewell.lua
            prefix: /farewell
        bridges:
          - name: central
            host: 127.0.0.1
            port: \(bridgePort)
            include: ["/farewell/**", "/plenum/devices/**"]
            reconnect_max_s: 1

        """
    }

    @Test func theBrokerGetsWhatTheDevicesPublishAsTheyStopThenOffline() async throws {
        let broker = try MQTTBroker()
        let hub = try await InProcessHub(yaml: Self.yaml(bridgePort: broker.port))
        #expect(
            await waitUntil {
                hub.value("/plenum/bridges/central/status")?["connected"] == .bool(true)
                    && hub.value("/farewell/n") != nil
            }
        )
        #expect(await hub.shutdown() == nil)
        // Published by the script after its stop began, and by the supervisor once it ended.
        let farewell = try #require(hub.value("/farewell/farewell"))
        #expect(hub.value("/plenum/devices/farewell/status")?["state"] == .string("stopped"))

        let retained = try await offPool { try MQTTClient.retained(port: broker.port, ["plenum/order/#"]) }
        func json(_ topic: String) -> JSONValue? { retained[topic].flatMap { try? JSONParser.parse($0) } }
        #expect(json("plenum/order/farewell/farewell")?["value"] == farewell, "\(retained)")
        #expect(json("plenum/order/plenum/devices/farewell/status")?["value"]?["state"] == .string("stopped"))
        #expect(retained["plenum/order/$status"] == "offline")
    }

    @Test func theTrendStoreSavesTheChannelsAfterEverythingElseStopped() async throws {
        let directory = NSTemporaryDirectory() + "plenum-order-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trends = "trends: {enabled: true, path: \(directory)/trends.db}"
        // No broker on this port: the bridge keeps trying, and publishes its `stopped` status
        // when it stops, after the devices.
        let first = try await InProcessHub(yaml: Self.yaml(bridgePort: try freeLoopbackPort(), trends: trends))
        #expect(await waitUntil { first.value("/farewell/n") != nil })
        let lastByTest = first.hub.store.publish(try ChannelPath("/test/last"), .string("right before shutdown"))
        #expect(await first.shutdown() == nil)
        let final = try [
            "/test/last", "/farewell/n", "/farewell/farewell", "/plenum/devices/farewell/status",
            "/plenum/bridges/central/status",
        ].map { path in (path, try #require(first.hub.store.latest(try ChannelPath(path)))) }
        #expect(final[0].1.version == lastByTest.version)
        #expect(final[3].1.value["state"] == .string("stopped"))
        #expect(final[4].1.value["state"] == .string("stopped"))

        // The same database, nothing running that could publish: what the hub starts from is
        // exactly what the first one ended with.
        let second = try await InProcessHub(yaml: "\(trends)\ndevices: []\n")
        #expect(second.hub.store.epoch == first.hub.store.epoch)
        for (path, version) in final {
            let restored = second.hub.store.latest(try ChannelPath(path))
            #expect(restored?.version == version.version, "\(path)")
            #expect(restored?.value == version.value, "\(path): \(String(describing: restored?.value))")
        }
        #expect(await second.shutdown() == nil)
    }
}
