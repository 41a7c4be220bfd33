import Foundation
import PlenumCore
import PlenumTestSupport
import Synchronization
import Testing

@testable import PlenumServer

/// A device on a thread of its own, as the device runtime would be: takes writes from the router
/// and acks them — ok, or refused when the value is "refuse"; writes to `…/silent` it never answers.
final class TestDevice: Sendable {
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)

    init(_ router: CommandRouter, name: String) {
        let lease = router.attach(device: name) {}
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                for command in router.take(lease) where !command.name.hasSuffix("silent") {
                    if command.value == .string("refuse") {
                        router.ack(lease, id: command.id, ok: false, message: "not now")
                    } else {
                        router.ack(lease, id: command.id, ok: true)
                    }
                }
                usleep(1_000)
            }
            router.detach(lease, reason: "stopped")
            done.signal()
        }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        done.wait()
    }
}

@Suite struct WriteRequestTests {
    @Test func aWriteMessageNamesOneChannelAndAValue() throws {
        var set = SubscriptionSet(limit: 10)
        let path = try ChannelPath("/p/c/setpoint")
        #expect(
            set.received(text: Array(#"{"op":"write","channel":"/p/c/setpoint","value":7.5,"id":5}"#.utf8))
                == [.write(path, value: .double(7.5), id: .integer(5))]
        )
        #expect(
            set.received(text: Array(#"{"op":"write","channel":"/p/c/setpoint","value":null}"#.utf8))
                == [.write(path, value: .null, id: nil)]
        )
        let refusals: [(String, String)] = [
            (#"{"op":"write","value":1,"id":1}"#, #""write" needs "channel": the path of one channel"#),
            (
                #"{"op":"write","channel":"/p/*","value":1,"id":1}"#,
                "'/p/*' is not a channel path: the path has a wildcard segment '*'; wildcards belong in patterns"
            ),
            (#"{"op":"write","channel":"/p/c","id":1}"#, #""write" needs "value""#),
        ]
        for (message, reason) in refusals {
            #expect(
                set.received(text: Array(message.utf8)) == [
                    .refuse(ProtocolError(.invalidMessage, reason, id: .integer(1)))
                ]
            )
        }
        #expect(ClientRequest.ops.contains("write"))
    }
}

/// Writes through the real server, from a Python `websockets` client and over HTTP.
@Suite(.serialized) struct WriteEndToEndTests {
    private static func router() -> CommandRouter {
        let router = CommandRouter(defaultTimeoutSeconds: 5)
        router.declare(
            device: "dev",
            channels: [
                WritableChannel(
                    path: try! ChannelPath("/p/c/setpoint"),
                    name: "setpoint",
                    kind: .number,
                    minimum: 4,
                    maximum: 12
                ),
                WritableChannel(path: try! ChannelPath("/p/c/mode"), name: "mode", kind: .string),
                WritableChannel(
                    path: try! ChannelPath("/p/c/silent"),
                    name: "silent",
                    kind: .number,
                    timeoutSeconds: 0.2
                ),
            ]
        )
        return router
    }

    @Test func eachWriteGetsExactlyOneWrittenAnswer() async throws {
        let router = Self.router()
        let device = TestDevice(router, name: "dev")
        let hub = try await ServerHarness.start(commands: router)
        let seen = try PythonClient.run(
            "write",
            port: hub.port,
            [
                "/p/c/setpoint", "7.5", "/p/c/setpoint", "13", "/p/c/setpoint", "\"7\"", "/p/c/mode", "\"refuse\"",
                "/p/c/silent", "1", "/p/other", "1",
            ]
        )
        device.stop()
        router.submit(
            WriteRequest(channel: try ChannelPath("/p/c/mode"), value: .string("x"), via: "test"),
            from: .anonymous
        ) { _ in }
        let stopped = try PythonClient.run("write", port: hub.port, ["/p/c/setpoint", "5"])
        await hub.stop()
        func answer(_ id: Int) -> JSONValue? {
            guard case .array(let answers)? = seen["\(id)"], answers.count == 1 else { return nil }
            return answers[0]
        }
        #expect(
            answer(1)
                == .object([
                    "type": .string("written"), "id": .integer(1), "channel": .string("/p/c/setpoint"),
                    "ok": .bool(true),
                ])
        )
        #expect(
            answer(2)
                == .object([
                    "type": .string("written"), "id": .integer(2), "channel": .string("/p/c/setpoint"),
                    "ok": .bool(false),
                    "code": .string("out_of_range"), "message": .string("13 is above the maximum 12 of /p/c/setpoint"),
                ])
        )
        #expect(answer(3)?["code"] == .string("wrong_type"))
        #expect(answer(4)?["code"] == .string("rejected"))
        #expect(answer(4)?["message"] == .string("not now"))
        #expect(answer(5)?["code"] == .string("timeout"))
        #expect(answer(6)?["code"] == .string("not_writable"))
        #expect(
            stopped["1"]
                == .array([
                    .object([
                        "type": .string("written"), "id": .integer(1), "channel": .string("/p/c/setpoint"),
                        "ok": .bool(false),
                        "code": .string("device_unavailable"), "message": .string("device 'dev' stopped"),
                    ])
                ])
        )
    }

    @Test func aConnectionHoldsABoundedNumberOfPendingWrites() async throws {
        let router = Self.router()
        let device = TestDevice(router, name: "dev")
        let hub = try await ServerHarness.start(commands: router) { $0.maxPendingWrites = 3 }
        // Never answered (0.2 s timeout): the first three wait, the rest are refused at once.
        let seen = try PythonClient.run("write_burst", port: hub.port, ["/p/c/silent", "1", "10"])
        device.stop()
        await hub.stop()
        #expect(seen["answered"] == .integer(10))
        #expect(seen["exactly_once"] == .bool(true))
        #expect(seen["codes"] == .object(["timeout": .integer(3), "busy": .integer(7)]))
    }

    /// Large ids count too: unanswered writes hold at most `max_message_bytes` of ids and values.
    @Test func pendingWritesHoldABoundedNumberOfBytes() async throws {
        let router = Self.router()
        let device = TestDevice(router, name: "dev")
        let hub = try await ServerHarness.start(commands: router) { $0.maxMessageBytes = 1_024 }
        let seen = try PythonClient.run("write_burst", port: hub.port, ["/p/c/silent", "1", "5", "400"])
        device.stop()
        await hub.stop()
        #expect(seen["exactly_once"] == .bool(true))
        #expect(seen["codes"] == .object(["timeout": .integer(1), "busy": .integer(4)]))
    }

    @Test func malformedWritesAreProtocolErrorsAndTheConnectionStays() async throws {
        let hub = try await ServerHarness.start(commands: Self.router())
        let seen = try PythonClient.run("bad_writes", port: hub.port)
        await hub.stop()
        guard case .array(let answers)? = seen["answers"] else {
            Issue.record("\(seen)")
            return
        }
        #expect(
            answers.map { $0["code"] } == [
                .string("invalid_message"), .string("invalid_message"), .string("invalid_message"), nil,
            ]
        )
        #expect(answers.last?["type"] == .string("pong"))
    }

    @Test func putWritesAChannelAndAnswersWithAStatus() async throws {
        let router = Self.router()
        let device = TestDevice(router, name: "dev")
        let hub = try await ServerHarness.start(commands: router) { $0.maxMessageBytes = 1_024 }
        func put(_ path: String, _ body: String) throws -> JSONValue {
            try PythonClient.run("put", port: hub.port, [path, body])
        }
        #expect(
            try put("/api/channels/p/c/setpoint", "7.5")
                == .object([
                    "status": .integer(200), "body": .object(["channel": .string("/p/c/setpoint"), "ok": .bool(true)]),
                ])
        )
        #expect(try put("/api/channels/p/c/setpoint", #"{"value": 8}"#)["status"] == .integer(200))
        let cases: [(String, String, Int, String)] = [
            ("/api/channels/p/c/setpoint", "20", 422, "out_of_range"),
            ("/api/channels/p/c/setpoint", "true", 422, "wrong_type"),
            ("/api/channels/p/other", "1", 405, "not_writable"),
            ("/api/channels/p/c/mode", #""refuse""#, 409, "rejected"),
            ("/api/channels/p/c/silent", "1", 504, "timeout"),
            ("/api/channels/p/c/setpoint", "{", 400, "invalid_json"),
            ("/api/channels/p/c/setpoint", String(repeating: " ", count: 2_000) + "1", 413, ""),
        ]
        for (path, body, status, code) in cases {
            let answer = try put(path, body)
            #expect(answer["status"] == .integer(Int64(status)), "\(path) \(body.prefix(10))")
            if !code.isEmpty { #expect(answer["body"]?["code"] == .string(code), "\(path) \(body.prefix(10))") }
        }
        device.stop()
        let unavailable = try put("/api/channels/p/c/setpoint", "6")
        #expect(unavailable["status"] == .integer(503))
        #expect(unavailable["body"]?["code"] == .string("device_unavailable"))
        // GET still works, and other methods are told what the route takes.
        let get = try PythonClient.run("get", port: hub.port, ["/api/channels/nope"])
        #expect(get["status"] == .integer(404))
        await hub.stop()
    }
}
