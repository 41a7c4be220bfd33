import Foundation
import PlenumCore
import PlenumDevices
import PlenumTestSupport
import Synchronization
import Testing

/// The scripts in plugins/, run through the real device runtime.
@Suite struct ShippedPluginTests {
    static let plugins = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("plugins").path

    private func chiller(_ hub: DeviceHarness, _ params: [String: JSONValue]) async {
        var all: [String: JSONValue] = [
            "period": .double(0.05), "day_seconds": .integer(4), "supply_tau_s": .double(0.3),
        ]
        all.merge(params) { _, new in new }
        await hub.supervisor.apply([
            DeviceHarness.spec("ch", script: "chiller.lua", params: .object(all), directory: Self.plugins) {
                $0.prefix = try! ChannelPath("/p/ch")
            }
        ])
    }

    /// Samples `path` every 50 ms for `seconds`, on a thread of its own (a busy concurrency pool
    /// would thin the samples out).
    private func sample(_ hub: DeviceHarness, _ paths: [String], seconds: Double) async -> [[String: Double]] {
        (try? await offPool {
            var rows: [[String: Double]] = []
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                var row: [String: Double] = [:]
                for path in paths { row[path] = hub.value(path)?.numberValue }
                if row.count == paths.count { rows.append(row) }
                usleep(50_000)
            }
            return rows
        }) ?? []
    }

    @Test func chillerStaysInPhysicalRangesAndPowerFollowsLoad() async throws {
        let hub = DeviceHarness()
        await chiller(hub, ["capacity_kw": .integer(400)])
        #expect(await hub.eventually { hub.value("/p/ch/cop") != nil })
        let rows = await sample(
            hub,
            [
                "/p/ch/supply_temp", "/p/ch/return_temp", "/p/ch/load_pct", "/p/ch/power_kw", "/p/ch/cop",
                "/p/ch/condenser_temp",
            ],
            seconds: 4
        )
        #expect(rows.count > 40)
        for row in rows {
            #expect((5.5...7.5).contains(row["/p/ch/supply_temp"]!))
            #expect(row["/p/ch/return_temp"]! > row["/p/ch/supply_temp"]!)
            #expect((5...100).contains(row["/p/ch/load_pct"]!))
            #expect((2...9).contains(row["/p/ch/cop"]!))
            #expect((26...36).contains(row["/p/ch/condenser_temp"]!))
        }
        // Power is the cooling delivered over the COP (within rounding).
        for row in rows.suffix(5) {
            let expected = 400 * row["/p/ch/load_pct"]! / 100 / row["/p/ch/cop"]!
            #expect(abs(row["/p/ch/power_kw"]! - expected) / expected < 0.03)
        }
        // The compressed day makes the load move through a wide range.
        let loads = rows.map { $0["/p/ch/load_pct"]! }
        #expect(loads.max()! - loads.min()! > 30)
        #expect(hub.value("/p/ch/status") == .string("running"))
    }

    @Test func refrigerantLossDriftsTheSupplyUp() async {
        let hub = DeviceHarness()
        await chiller(
            hub,
            ["fault": .string("refrigerant_loss"), "fault_start_s": .double(0.5), "fault_rate_k_per_min": .integer(60)]
        )
        #expect(await hub.eventually(timeout: 10) { (hub.value("/p/ch/supply_temp")?.numberValue ?? 0) > 9 })
        #expect(hub.value("/p/ch/status") == .string("running"))
    }

    @Test func aStuckSensorStopsChanging() async throws {
        let hub = DeviceHarness()
        await chiller(hub, ["fault": .string("stuck_sensor"), "fault_start_s": .double(0.3)])
        try await Task.sleep(for: .milliseconds(800))
        let first = hub.version("/p/ch/supply_temp")
        let values = await sample(hub, ["/p/ch/supply_temp"], seconds: 1).map { $0["/p/ch/supply_temp"]! }
        #expect(hub.version("/p/ch/supply_temp") > first + 5)
        #expect(Set(values).count == 1)
    }

    @Test func aTrippedCompressorStopsAndWarms() async {
        let hub = DeviceHarness()
        await chiller(hub, ["fault": .string("compressor_trip"), "fault_start_s": .double(0.3)])
        #expect(await hub.eventually { hub.value("/p/ch/status") == .string("tripped") })
        #expect(await hub.eventually { hub.value("/p/ch/power_kw")?.numberValue == 0 })
        #expect(await hub.eventually { (hub.value("/p/ch/supply_temp")?.numberValue ?? 0) > 8 })
    }

    @Test func ahuStaysInRange() async {
        let hub = DeviceHarness()
        await hub.supervisor.apply([
            DeviceHarness.spec(
                "ahu",
                script: "ahu.lua",
                params: .object(["period": .double(0.05), "day_seconds": .integer(4)]),
                directory: Self.plugins
            )
        ])
        #expect(await hub.eventually { hub.value("/t/ahu/filter_dp") != nil })
        let rows = await sample(
            hub,
            ["/t/ahu/outdoor_temp", "/t/ahu/mixed_temp", "/t/ahu/damper_pct", "/t/ahu/valve_pct"],
            seconds: 2
        )
        for row in rows {
            #expect((12...34).contains(row["/t/ahu/outdoor_temp"]!))
            #expect((20...100).contains(row["/t/ahu/damper_pct"]!))
            #expect((0...100).contains(row["/t/ahu/valve_pct"]!))
        }
        #expect(hub.value("/t/ahu/fan_status") == .string("on"))
    }

    private func predictor(_ hub: DeviceHarness, ramp: [String: JSONValue], params: [String: JSONValue]) async {
        var all: [String: JSONValue] = ["watch": .string("/t/ramp/value"), "persistence_s": .double(0.3)]
        all.merge(params) { _, new in new }
        await hub.supervisor.apply([
            DeviceHarness.spec("ramp", script: "ramp.lua", params: .object(ramp)),
            DeviceHarness.spec("pred", script: "predictor.lua", params: .object(all), directory: Self.plugins),
        ])
    }

    @Test func predictorTimeToThresholdIsWithinFivePercentOnARamp() async throws {
        let hub = DeviceHarness()
        await predictor(
            hub,
            ramp: ["start": .integer(5), "rate": .double(0.5)],
            params: ["threshold": .integer(15), "window_s": .integer(5), "horizon_s": .integer(60)]
        )
        // Let the window fill (3 s), then compare the estimate with the truth for that sample.
        try await Task.sleep(for: .seconds(3))
        let forecast = try #require(hub.value("/t/pred/forecast"))
        let eta = try #require(forecast["seconds_to_threshold"]?.numberValue)
        let sample = try #require(forecast["sample"]?.numberValue)
        let truth = (15 - sample) / 0.5
        #expect(abs(eta - truth) / truth < 0.05, "estimated \(eta) s, true \(truth) s")
        #expect(abs((forecast["slope_per_min"]?.numberValue ?? 0) - 30) < 1.5)
        #expect(await hub.eventually { hub.value("/t/pred/alarm") == .string("predicted") })
    }

    @Test func predictorGoesToAlarmAndDoesNotFlapOnNoise() async throws {
        let hub = DeviceHarness()
        let feed = hub.store.makeFeed(filter: try ChannelPattern("/t/pred/alarm"))
        // Drained on a thread of its own, started before the devices and often enough that no
        // state is conflated away.
        let states = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let end = Date().addingTimeInterval(6)
            while Date() < end {
                for change in hub.store.drain(feed) {
                    guard let s = change.value.stringValue else { continue }
                    states.withLock { if s != $0.last { $0.append(s) } }
                }
                usleep(5_000)
            }
            done.signal()
        }
        await predictor(
            hub,
            ramp: ["start": .integer(10), "rate": .integer(0), "noise": .double(0.15)],
            params: ["threshold": .integer(10), "window_s": .integer(3)]
        )
        try await offPool { done.wait() }
        let seen = states.withLock { $0 }
        // Noise around the threshold may escalate (ok → predicted → alarm) but never goes back
        // and forth: no state is entered twice.
        #expect(Set(seen).count == seen.count, "\(seen)")
        #expect(seen.first == "ok")
    }

    @Test func predictorBelowDirectionClearsWithHysteresis() async throws {
        let hub = DeviceHarness()
        // A falling ramp crosses below the threshold: the "below" direction raises the alarm.
        await predictor(
            hub,
            ramp: ["start": .integer(11), "rate": .double(-1)],
            params: ["threshold": .integer(10), "direction": .string("below"), "window_s": .integer(2)]
        )
        #expect(await hub.eventually { hub.value("/t/pred/alarm") == .string("alarm") })
        #expect(hub.value("/t/pred/forecast")?["direction"] == .string("below"))
    }
}
