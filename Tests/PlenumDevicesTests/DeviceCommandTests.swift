import Foundation
import PlenumCore
import PlenumTestSupport
import Synchronization
import Testing

@testable import PlenumDevices

/// Answers to writes, as a client would hear them.
final class WriteAnswers: Sendable {
    private let answers = Mutex<[Int: [WriteOutcome]]>([:])

    func completion(_ index: Int) -> @Sendable (WriteOutcome) -> Void {
        { outcome in self.answers.withLock { $0[index, default: []].append(outcome) } }
    }

    subscript(index: Int) -> [WriteOutcome] { answers.withLock { $0[index] ?? [] } }
}

/// `hub.commands` and `hub.ack` through the real runtime: device threads, the supervisor telling
/// the router when a device runs, crashes and stops.
@Suite struct DeviceCommandTests {
    private static func writable(_ device: String, timeout: Double? = nil) -> [WritableChannel] {
        [
            WritableChannel(
                path: try! ChannelPath("/t/\(device)/setpoint"),
                name: "setpoint",
                kind: .number,
                minimum: 0,
                maximum: 20,
                timeoutSeconds: timeout
            ),
            WritableChannel(path: try! ChannelPath("/t/\(device)/mode"), name: "mode", kind: .string),
        ]
    }

    private static func spec(
        _ name: String,
        script: String,
        params: JSONValue = .object([:]),
        timeout: Double? = nil
    ) -> DeviceSpec {
        DeviceHarness.spec(name, script: script, params: params) { $0.writable = writable(name, timeout: timeout) }
    }

    private func write(_ path: String, _ value: JSONValue) -> WriteRequest {
        WriteRequest(channel: try! ChannelPath(path), value: value, via: "test")
    }

    @Test func theScriptAppliesAWriteAndTheCallerHearsIt() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([Self.spec("c", script: "commands_apply.lua")])
        #expect(await hub.eventually { hub.value("/t/c/ready") == .bool(true) })
        let operator_ = CommandCaller(name: "operator") { _ in true }
        router.submit(write("/t/c/setpoint", .integer(8)), from: operator_, completion: answers.completion(0))
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(answers[0] == [.ok])
        #expect(hub.value("/t/c/setpoint") == .double(8))
        let last = try #require(hub.value("/t/c/last"))
        #expect(last["channel"] == .string("setpoint"))
        #expect(last["path"] == .string("/t/c/setpoint"))
        #expect(last["value"] == .double(8))
        #expect(last["who"] == .string("operator"))
        #expect(last["id"]?.numberValue != nil)

        router.submit(write("/t/c/mode", .string("refuse")), from: .anonymous, completion: answers.completion(1))
        #expect(await hub.eventually { !answers[1].isEmpty })
        #expect(answers[1] == [WriteOutcome(.rejected, "the compressor is locked out")])
        #expect(hub.value("/t/c/mode") == nil)
    }

    @Test func aScriptThatNeverAnswersTimesOut() async throws {
        let router = CommandRouter(defaultTimeoutSeconds: 30)
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([
            Self.spec("quiet", script: "commands_apply.lua", params: .object(["silent": .bool(true)]), timeout: 0.3)
        ])
        #expect(await hub.eventually { hub.value("/t/quiet/ready") == .bool(true) })
        router.submit(write("/t/quiet/setpoint", .integer(8)), from: .anonymous, completion: answers.completion(0))
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(
            answers[0]
                == [WriteOutcome(.timeout, "device 'quiet' did not answer within 0.3 s (after the script took it)")]
        )
        #expect(hub.value("/t/quiet/took") != nil)
    }

    /// Taken, then the script fails before answering: the caller hears `device_unavailable` at
    /// once (not after the timeout), and writes during the backoff are refused the same way.
    @Test func aScriptThatCrashesBeforeAnsweringIsUnavailable() async throws {
        let router = CommandRouter(defaultTimeoutSeconds: 30)
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        var spec = Self.spec("crashy", script: "commands_apply.lua", params: .object(["crash": .bool(true)]))
        spec.backoffSeconds = 30
        await hub.supervisor.apply([spec])
        #expect(await hub.eventually { hub.value("/t/crashy/ready") == .bool(true) })
        router.submit(write("/t/crashy/setpoint", .integer(8)), from: .anonymous, completion: answers.completion(0))
        #expect(await hub.eventually { !answers[0].isEmpty })
        #expect(
            answers[0]
                == [
                    WriteOutcome(
                        .deviceUnavailable,
                        "device 'crashy' crashed (commands_apply.lua:14: lost the controller) before it answered"
                    )
                ]
        )
        #expect(await hub.eventually { hub.status("crashy")?["state"] == .string("backoff") })
        router.submit(write("/t/crashy/setpoint", .integer(9)), from: .anonymous, completion: answers.completion(1))
        #expect(answers[1].map(\.code) == [.deviceUnavailable])
        #expect(
            answers[1].first?.message.hasPrefix(
                "device 'crashy' is restarting after an error (commands_apply.lua:14: lost the controller); next attempt in "
            ) == true
        )
    }

    @Test func aDeviceThatDoesNotRunIsUnavailableAndAStopAnswersWhatItHeld() async throws {
        let router = CommandRouter(defaultTimeoutSeconds: 30)
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([
            Self.spec("broken", script: "syntax.lua"),
            Self.spec("held", script: "commands_apply.lua", params: .object(["silent": .bool(true)])),
        ])
        router.submit(write("/t/broken/setpoint", .integer(1)), from: .anonymous, completion: answers.completion(0))
        #expect(answers[0].map(\.code) == [.deviceUnavailable])
        #expect(answers[0].first?.message.hasPrefix("device 'broken' failed to start (syntax.lua:1:") == true)
        #expect(await hub.eventually { hub.value("/t/held/ready") == .bool(true) })
        router.submit(write("/t/held/setpoint", .integer(1)), from: .anonymous, completion: answers.completion(1))
        #expect(await hub.eventually { hub.value("/t/held/took") != nil })
        await hub.supervisor.stopAll()
        #expect(answers[1] == [WriteOutcome(.deviceUnavailable, "device 'held' stopped before it answered")])
        router.submit(write("/t/held/setpoint", .integer(1)), from: .anonymous, completion: answers.completion(2))
        #expect(answers[2] == [WriteOutcome(.deviceUnavailable, "device 'held' stopped")])
    }

    @Test func aScriptBlockedInWaitStillAnswersWrites() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([Self.spec("waiter", script: "commands_wait.lua")])
        #expect(await hub.eventually { hub.status("waiter")?["state"] == .string("running") })
        for index in 0..<2 {
            router.submit(
                write("/t/waiter/setpoint", .integer(Int64(index))),
                from: .anonymous,
                completion: answers.completion(index)
            )
            #expect(await hub.eventually { !answers[index].isEmpty })
            #expect(answers[index] == [WriteOutcome(.ok, "applied after wait")])
        }
        #expect(hub.value("/t/waiter/woke") == .array([.string("commands"), .string("commands")]))
    }

    @Test func ackChecksItsArgumentsAndSaysWhenAWriteWasAnsweredAlready() async throws {
        let router = CommandRouter()
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([Self.spec("api", script: "commands_api.lua")])
        #expect(await hub.eventually { hub.value("/t/api/said") != nil })
        #expect(
            hub.value("/t/api/said")
                == .array([
                    .string("bad argument #1 to 'hub.ack' (a command from hub.commands, or its id, expected)"),
                    .string("bad argument #2 to 'hub.ack' (true or false expected, got string)"),
                    .string("bad argument #3 to 'hub.ack' (message string expected, got table)"),
                    .string(
                        "bad argument #1 to 'hub.commands' (the duration -1.0 is negative; expected 0 or more seconds)"
                    ),
                    .string("nil timeout"),
                    .string("false unknown command"),
                ])
        )
        router.submit(write("/t/api/setpoint", .integer(3)), from: .anonymous, completion: answers.completion(0))
        #expect(await hub.eventually { hub.value("/t/api/acks") != nil })
        #expect(hub.value("/t/api/acks") == .array([.bool(true), .bool(false), .string("ok")]))
        #expect(answers[0] == [WriteOutcome(.ok, String(repeating: "x", count: 512))])
    }

    /// A reload replaces the instance: what the old one held is answered, the new one takes writes.
    @Test func aReloadAnswersWhatTheOldInstanceHeld() async throws {
        let router = CommandRouter(defaultTimeoutSeconds: 30)
        let hub = DeviceHarness(commands: router)
        let answers = WriteAnswers()
        await hub.supervisor.apply([
            Self.spec("swap", script: "commands_apply.lua", params: .object(["silent": .bool(true)]))
        ])
        #expect(await hub.eventually { hub.value("/t/swap/ready") == .bool(true) })
        router.submit(write("/t/swap/setpoint", .integer(1)), from: .anonymous, completion: answers.completion(0))
        #expect(await hub.eventually { hub.value("/t/swap/took") != nil })
        await hub.supervisor.apply([Self.spec("swap", script: "commands_apply.lua")])
        #expect(answers[0] == [WriteOutcome(.deviceUnavailable, "device 'swap' stopped before it answered")])
        #expect(await hub.eventually { hub.status("swap")?["state"] == .string("running") })
        router.submit(write("/t/swap/setpoint", .integer(2)), from: .anonymous, completion: answers.completion(1))
        #expect(await hub.eventually { !answers[1].isEmpty })
        #expect(answers[1] == [.ok])
    }
}
