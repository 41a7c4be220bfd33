import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// GET /metrics after known traffic: the counts match what was sent and provoked.
@Suite struct MetricsTests {
    @Test func metricsCountWhatHappened() async throws {
        let yaml = try String(contentsOfFile: InProcessHub.fixtures + "/metrics.yaml", encoding: .utf8)
        let hub = try await InProcessHub(yaml: yaml)
        let ready = NSTemporaryDirectory() + "plenum-metrics-\(UUID().uuidString)"
        async let traffic = offPool { try PythonClient.run("metrics_traffic", port: hub.port, ["/m/**", "20", ready]) }
        #expect(await waitForFile(ready))
        hub.hub.store.publish(try ChannelPath("/m/go"), .bool(true))
        let seen = try await traffic
        #expect(seen["content_type"] == .string("text/plain; version=0.0.4; charset=utf-8"))
        #expect(seen["received"] == .integer(20))
        let m = try #require(seen["metrics"])
        #expect(m["plenum_ws_messages_pushed_total"]?.numberValue == 20)
        #expect(m["plenum_device_publishes_total{device=\"burst\"}"]?.numberValue == 20)
        #expect(m["plenum_device_errors_total{device=\"burst\"}"]?.numberValue == 0)
        #expect(m["plenum_device_restarts_total{device=\"burst\"}"]?.numberValue == 0)
        #expect((m["plenum_device_memory_bytes{device=\"burst\"}"]?.numberValue ?? 0) > 10_000)
        #expect(m["plenum_ws_protocol_errors_total{kind=\"invalid_json\"}"]?.numberValue == 2)
        #expect(m["plenum_ws_protocol_errors_total{kind=\"unknown_op\"}"]?.numberValue == 1)
        #expect(m["plenum_ws_protocol_errors_total{kind=\"close_1002\"}"]?.numberValue == 1)
        #expect(m["plenum_ws_connections"]?.numberValue == 0)
        #expect(m["plenum_ws_subscriptions"]?.numberValue == 0)
        #expect((m["plenum_tick_duration_seconds_count"]?.numberValue ?? 0) >= 1)
        #expect(m["plenum_ws_slow_consumer_closes_total"]?.numberValue == 0)
        // The store itself agrees with what the client counted.
        #expect(hub.hub.store.latest(try ChannelPath("/m/v"))?.version == 20)
        #expect(await hub.shutdown() == nil)
    }
}
