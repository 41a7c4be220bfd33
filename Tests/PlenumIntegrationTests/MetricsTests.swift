import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// GET /metrics after known traffic: the counts match what was sent and provoked.
@Suite struct MetricsTests {
    @Test func metricsCountWhatHappened() async throws {
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--config", "metrics.yaml"], in: PlenumBinary.fixtures)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        let seen = try await offPool { try PythonClient.run("metrics_traffic", port: port, ["/m/**", "20"]) }
        #expect(seen["content_type"] == .string("text/plain; version=0.0.4; charset=utf-8"))
        #expect(seen["received"] == .integer(20))
        let m = try #require(seen["metrics"])
        #expect(m["plenum_ws_messages_pushed_total"]?.numberValue == 20)
        #expect(m["plenum_ws_versions_conflated_total"]?.numberValue == 0)
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
    }
}
