import Testing

@testable import PlenumConfig

/// Every duration and numeric limit: what is refused, and where and why it says so.
@Suite struct ConfigRangeTests {
    private func limits(_ lines: String) -> [String] {
        problems("devices:\n" + device() + "    limits:\n" + lines)
    }

    private let guardRange = "expected a number of seconds from 0.01 to 3600 (the guard cannot be turned off)"

    @Test func aCPUGuardTooShortToWorkIsRefused() {
        #expect(
            limits("      cpu_guard_s: 1.0e-10\n") == [
                "hub.yaml:6:20: devices[0].limits.cpu_guard_s: 1.0e-10 is out of range; \(guardRange)"
            ]
        )
        #expect(
            limits("      cpu_guard_s: 0.001\n") == [
                "hub.yaml:6:20: devices[0].limits.cpu_guard_s: 0.001 is out of range; \(guardRange)"
            ]
        )
    }

    @Test func aCPUGuardThatIsNotAFiniteNumberIsRefused() {
        for text in [".inf", "-.inf", ".nan", "1e400", "-1", "3600.5", "0"] {
            #expect(
                limits("      cpu_guard_s: \(text)\n") == [
                    "hub.yaml:6:20: devices[0].limits.cpu_guard_s: \(text) is out of range; \(guardRange)"
                ]
            )
        }
        #expect(
            limits("      cpu_guard_s: \"5\"\n") == [
                "hub.yaml:6:20: devices[0].limits.cpu_guard_s: expected a number of seconds from 0.01 to 3600 "
                    + "(the guard cannot be turned off), found a string (\"5\")"
            ]
        )
    }

    @Test func theCPUGuardBoundsAreAccepted() throws {
        for (text, seconds) in [("0.01", 0.01), ("3600", 3_600), ("2.5", 2.5), ("1e1", 10)] {
            let config = try ConfigLoader.parse(
                Array(("devices:\n" + device() + "    limits:\n      cpu_guard_s: \(text)\n").utf8),
                file: "hub.yaml",
                baseDirectory: fixtures
            )
            #expect(config.devices[0].limits.cpuGuardSeconds == seconds)
        }
    }

    @Test func stopGraceIsAtMostAMinuteAndZeroMeansAtOnce() throws {
        #expect(
            limits("      stop_grace_ms: 60001\n") == [
                "hub.yaml:6:22: devices[0].limits.stop_grace_ms: 60001 is out of range; expected an integer from 0 to 60000"
            ]
        )
        #expect(
            limits("      stop_grace_ms: 1.0e-10\n") == [
                "hub.yaml:6:22: devices[0].limits.stop_grace_ms: expected an integer from 0 to 60000, found a number (1.0e-10)"
            ]
        )
        let config = try ConfigLoader.parse(
            Array(("devices:\n" + device() + "    limits:\n      stop_grace_ms: 0\n").utf8),
            file: "hub.yaml",
            baseDirectory: fixtures
        )
        #expect(config.devices[0].limits.stopGraceMilliseconds == 0)
        #expect(config.devices[0].limits.stopGraceSeconds == 0)
    }

    @Test func memoryCap() {
        #expect(
            limits("      memory_mb: 0\n      stop_grace_ms: -1\n") == [
                "hub.yaml:6:18: devices[0].limits.memory_mb: 0 is out of range; expected an integer from 1 to 4096",
                "hub.yaml:7:22: devices[0].limits.stop_grace_ms: -1 is out of range; expected an integer from 0 to 60000",
            ]
        )
        #expect(
            limits("      memory_mb: 4097\n") == [
                "hub.yaml:6:18: devices[0].limits.memory_mb: 4097 is out of range; expected an integer from 1 to 4096"
            ]
        )
    }

    @Test func integersTooLargeForAnyMachineAreOutOfRangeNotOfTheWrongType() {
        #expect(
            problems("server:\n  tick_ms: 99999999999999999999999\n  port: -99999999999999999999\n") == [
                "hub.yaml:3:9: server.port: -99999999999999999999 is out of range; expected an integer from 0 to 65535",
                "hub.yaml:2:12: server.tick_ms: 99999999999999999999999 is out of range; expected an integer from 0 to 60000",
            ]
        )
    }

    @Test func infinityAndNaNAreNotIntegers() {
        #expect(
            problems("server:\n  tick_ms: .inf\n  max_pending_bytes: .nan\n") == [
                "hub.yaml:2:12: server.tick_ms: expected an integer from 0 to 60000, found a number (.inf)",
                "hub.yaml:3:22: server.max_pending_bytes: expected an integer from 4096 to 1073741824, found a number (.nan)",
            ]
        )
    }

    @Test func everyServerLimitHasARange() {
        let yaml = """
            server:
              event_loops: 257
              max_connections: 1000001
              max_subscriptions: 1000001
              max_message_bytes: 127
              max_pending_bytes: 4095
            channels:
              history: 100001

            """
        #expect(
            problems(yaml) == [
                "hub.yaml:2:16: server.event_loops: 257 is out of range; expected an integer from 0 to 256",
                "hub.yaml:3:20: server.max_connections: 1000001 is out of range; expected an integer from 1 to 1000000",
                "hub.yaml:4:22: server.max_subscriptions: 1000001 is out of range; expected an integer from 1 to 1000000",
                "hub.yaml:5:22: server.max_message_bytes: 127 is out of range; expected an integer from 128 to 67108864",
                "hub.yaml:6:22: server.max_pending_bytes: 4095 is out of range; expected an integer from 4096 to 1073741824",
                "hub.yaml:8:12: channels.history: 100001 is out of range; expected an integer from 0 to 100000",
            ]
        )
    }
}
