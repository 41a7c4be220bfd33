import CoreMetrics
import Foundation
import Logging
import PlenumBridge
import PlenumCore
import PlenumTestSupport
import ServiceLifecycle
import Testing

/// One bridge in this process, as a Service, against a real mosquitto (or none).
@Suite(.serialized) struct MQTTBridgeTests {
    /// Runs `bridge` in a service group until `body` returns, then shuts it down gracefully;
    /// returns how long the shutdown took.
    private func running(
        _ bridge: MQTTBridge,
        logger: Logger,
        _ body: () async throws -> Void
    ) async throws -> Duration {
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: bridge)], gracefulShutdownSignals: [], logger: logger)
        )
        let task = Task { try await group.run() }
        try await body()
        let clock = ContinuousClock()
        let start = clock.now
        await group.triggerGracefulShutdown()
        try await task.value
        return clock.now - start
    }

    private func status(_ store: ChannelStore, _ name: String) -> JSONValue? {
        store.latest(try! ChannelPath("/plenum/bridges/\(name)/status"))?.value
    }

    private func eventually(timeout: Double = 20, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test func withNoBrokerTheBridgeKeepsTryingSaysWhyAndStillStopsPromptly() async throws {
        let store = ChannelStore()
        let log = LogRecorder()
        let port = try freeLoopbackPort()
        let bridge = try MQTTBridge(
            configuration: BridgeConfiguration(
                name: "absent",
                host: "127.0.0.1",
                port: port,
                clientID: "plenum-test-absent",
                topicPrefix: "plenum/test",
                reconnectMinSeconds: 1,
                reconnectMaxSeconds: 2
            ),
            store: store,
            logger: log.logger(),
            metrics: NOOPMetricsHandler.instance
        )
        let took = try await running(bridge, logger: log.logger()) {
            for k in 1...100 { store.publish(try ChannelPath("/plant/c\(k % 10)"), .integer(Int64(k))) }
            #expect(await eventually { status(store, "absent")?["last_error"]?.stringValue != nil })
            let now = try #require(status(store, "absent"))
            #expect(now["state"] == .string("connecting"))
            #expect(now["connected"] == .bool(false))
            // Ten channels wait, one version each, however many were published.
            #expect(await eventually { status(store, "absent")?["queued"] == .integer(10) })
        }
        #expect(took < .seconds(5), "shutdown took \(took)")
        #expect(status(store, "absent")?["state"] == .string("stopped"))
        #expect(log.entries.contains { $0.contains("cannot connect to 127.0.0.1:\(port)") }, "\(log.entries)")
    }

    @Test func channelsThatCannotBeTopicsAreSkippedAndTheRestArrive() async throws {
        let broker = try MQTTBroker()
        let store = ChannelStore()
        let log = LogRecorder()
        let bridge = try MQTTBridge(
            configuration: BridgeConfiguration(
                name: "edge",
                host: "127.0.0.1",
                port: broker.port,
                clientID: "plenum-test-edge",
                topicPrefix: "plenum/edge",
                exclude: [try ChannelPattern("/plenum/**")],
                qos: 0
            ),
            store: store,
            logger: log.logger(),
            metrics: NOOPMetricsHandler.instance
        )
        _ = try await running(bridge, logger: log.logger()) {
            store.publish(try ChannelPath("/plant/a+b"), .integer(1))
            store.publish(try ChannelPath("/plant/ok"), .string("fine"))
            store.publish(try ChannelPath("/$status"), .string("mine"))
            #expect(await eventually { status(store, "edge")?["sent"] == .integer(1) })
            #expect(status(store, "edge")?["skipped_channels"] == .integer(2))
            let retained = try MQTTClient.retained(port: broker.port, ["plenum/edge/#"])
            #expect(retained["plenum/edge/plant/ok"]?.contains(#""value":"fine""#) == true, "\(retained)")
            #expect(retained["plenum/edge/$status"] == "online")
            #expect(retained.count == 2)
        }
        #expect(log.entries.contains { $0.contains("channel /plant/a+b is not bridged") })
    }

    @Test func defaultClientIdentifiersDifferPerInstanceAndStayStable() {
        let a = ClientIdentifier.make(site: "s", bridge: "b", machineID: "m1", instance: "/etc/plenum/hub.yaml:8080")
        #expect(
            a == ClientIdentifier.make(site: "s", bridge: "b", machineID: "m1", instance: "/etc/plenum/hub.yaml:8080")
        )
        #expect(
            a != ClientIdentifier.make(site: "s", bridge: "b", machineID: "m2", instance: "/etc/plenum/hub.yaml:8080")
        )
        #expect(a != ClientIdentifier.make(site: "s", bridge: "b", machineID: "m1", instance: "/srv/b/hub.yaml:8081"))
        #expect(a.hasPrefix("plenum-s-b-") && a.count == "plenum-s-b-".count + 8)
    }
}
