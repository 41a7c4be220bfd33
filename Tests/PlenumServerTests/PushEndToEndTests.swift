import Foundation
import PlenumCore
import PlenumTestSupport
import Synchronization
import Testing

@testable import PlenumServer

/// The push server driven by an independent client (Python `websockets` and raw sockets).
@Suite(.serialized) struct PushEndToEndTests {
    @Test(arguments: [10, 0])
    func subscribeByURLGetsSnapshotThenIncreasingVersions(tickMilliseconds: Int) async throws {
        let hub = try await ServerHarness.start { $0.tickMilliseconds = tickMilliseconds }
        hub.store.publish(try ChannelPath("/t/a"), .integer(0))
        hub.store.publish(try ChannelPath("/t/b/c"), .string("x"))
        hub.store.publish(try ChannelPath("/u/a"), .integer(0))
        let publisher = hub.publishContinuously(["/t/a", "/t/b/c", "/u/a"])
        let seen = try PythonClient.run("url_subscribe", port: hub.port, ["/t/**"])
        publisher.stop()
        await hub.stop()
        #expect(
            seen["welcome"] == .array([.string("epoch"), .string("identity"), .string("tick_ms"), .string("type")])
        )
        #expect(seen["subscribed"] == .object(["type": .string("subscribed"), "channels": .array([.string("/t/**")])]))
        #expect(seen["snapshot_channels"] == .array([.string("/t/a"), .string("/t/b/c")]))
        #expect(
            seen["snapshot_fields"]
                == .array([.string("channel"), .string("ts"), .string("value"), .string("version")])
        )
        #expect(seen["updates"] == .integer(20))
        #expect(seen["update_channels"] == .array([.string("/t/a"), .string("/t/b/c")]))
        #expect(seen["increasing"] == .bool(true))
        #expect(seen["ts_is_int"] == .bool(true))
    }

    @Test func subscribeAndUnsubscribeByMessage() async throws {
        let hub = try await ServerHarness.start()
        hub.store.publish(try ChannelPath("/line1/chiller/supply"), .double(6.5))
        hub.store.publish(try ChannelPath("/line2/chiller/supply"), .double(6.7))
        hub.store.publish(try ChannelPath("/line1/ahu/supply"), .double(14))
        let publisher = hub.publishContinuously(["/line1/chiller/supply", "/line2/chiller/supply", "/line1/ahu/supply"])
        let seen = try PythonClient.run("message_subscribe", port: hub.port, ["/*/chiller/supply"])
        publisher.stop()
        await hub.stop()
        #expect(
            seen["subscribed"]
                == .object([
                    "type": .string("subscribed"), "channels": .array([.string("/*/chiller/supply")]),
                    "id": .integer(7),
                ])
        )
        #expect(seen["snapshot_id"] == .integer(7))
        #expect(
            seen["snapshot_channels"] == .array([.string("/line1/chiller/supply"), .string("/line2/chiller/supply")])
        )
        #expect(
            seen["update_channels"] == .array([.string("/line1/chiller/supply"), .string("/line2/chiller/supply")])
        )
        #expect(seen["unsubscribed"]?["type"] == .string("unsubscribed"))
        #expect(seen["updates_after_unsubscribe"] == .integer(0))
    }

    /// Exact paths are looked up, patterns matched; a channel named twice is listed once.
    @Test func exactPathsAndPatternsTogetherSnapshotEachChannelOnce() async throws {
        let hub = try await ServerHarness.start()
        for path in ["/t/a", "/t/b", "/u/a", "/u/b/c"] { hub.store.publish(try ChannelPath(path), .integer(0)) }
        let publisher = hub.publishContinuously(["/t/a", "/u/b/c", "/u/a"])
        let seen = try PythonClient.run(
            "message_subscribe",
            port: hub.port,
            ["/u/b/c", "/t/*", "/t/a", "/t/a", "/nope"]
        )
        publisher.stop()
        await hub.stop()
        #expect(seen["snapshot_channels"] == .array([.string("/t/a"), .string("/t/b"), .string("/u/b/c")]))
        #expect(seen["update_channels"] == .array([.string("/t/a"), .string("/u/b/c")]))
        #expect(seen["updates_after_unsubscribe"] == .integer(0))
    }

    @Test(arguments: ["/late/**", "/late/*/channel", "/late/new/channel"])
    func channelsThatAppearLaterAreDeliveredToMatchingPatterns(pattern: String) async throws {
        let hub = try await ServerHarness.start()
        let marker = markerPath()
        async let seen = offPool {
            try PythonClient.run("late_channel", port: hub.port, [pattern, marker])
        }
        #expect(await waitForFile(marker))
        hub.store.publish(try ChannelPath("/late/new/channel"), .string("hello"))
        let result = try await seen
        await hub.stop()
        #expect(result["first_update"]?["channel"] == .string("/late/new/channel"))
        #expect(result["first_update"]?["version"] == .integer(1))
        #expect(result["first_update"]?["value"] == .string("hello"))
    }

    @Test func badMessagesGetNamedErrorsAndTheConnectionStaysUsable() async throws {
        let hub = try await ServerHarness.start { $0.maxSubscriptions = 5 }
        let seen = try PythonClient.run("bad_input", port: hub.port)
        await hub.stop()
        guard case .array(let answers)? = seen["answers"] else {
            Issue.record("no answers")
            return
        }
        let codes = answers.map { $0["code"]?.stringValue ?? $0["type"]?.stringValue ?? "?" }
        #expect(
            codes == [
                "invalid_json", "invalid_message", "invalid_message", "invalid_message", "unknown_op",
                "invalid_message", "invalid_message", "bad_pattern", "bad_pattern", "too_many_subscriptions",
                "binary_unsupported", "pong",
            ]
        )
        #expect(answers[0]["message"] == .string("invalid JSON at byte 0: unexpected character"))
        #expect(
            answers[4]["message"]
                == .string("unknown op 'dance'; expected one of: subscribe, unsubscribe, ping, write, auth")
        )
        #expect(answers[8]["message"] == .string("'/a/**/b': '**' may only be the last segment of a pattern"))
        #expect(
            answers[9]["message"]
                == .string("6 channels in one message; at most 5 are allowed per connection")
        )
        #expect(answers[11]["id"] == .string("still-here"))
    }

    @Test func protocolViolationsCloseWithTheRFCCode() async throws {
        let hub = try await ServerHarness.start { $0.maxMessageBytes = 1024 }
        let seen = try PythonClient.run("violations", port: hub.port, ["1024"])
        await hub.stop()
        #expect(seen["unmasked"] == .integer(1002))
        #expect(seen["reserved_bit"] == .integer(1002))
        #expect(seen["bad_opcode"] == .integer(1002))
        #expect(seen["invalid_utf8"] == .integer(1007))
        #expect(seen["oversized_frame"] == .integer(1009))
        #expect(seen["oversized_message"] == .integer(1009))
        #expect(seen["orphan_continuation"] == .integer(1002))
        #expect(seen["new_message_mid_fragment"] == .integer(1002))
        #expect(seen["fragmented_ping"] == .integer(1002))
        #expect(seen["close_1000"] == .integer(1000))
        #expect(seen["close_4321"] == .integer(4321))
        #expect(seen["close_empty"] == .null)
        #expect(seen["close_1005"] == .integer(1002))
        #expect(seen["close_one_byte"] == .integer(1002))
        #expect(seen["close_bad_utf8_reason"] == .integer(1007))
        // welcome, then the pong for the ping sent mid-message, then the reassembled message's answer.
        guard case .array(let frames)? = seen["fragmented"] else {
            Issue.record("no frames")
            return
        }
        #expect(frames.map { $0.arrayFirst } == [.integer(1), .integer(10), .integer(1)])
        #expect(frames[1] == .array([.integer(10), .string("hello"), .bool(false)]))
        #expect(frames[2] == .array([.integer(1), .string(#"{"id":3,"type":"pong"}"#), .bool(false)]))
    }

    /// With `tick_ms: 0`, producers that publish without pause keep a fan-out pass pending at all
    /// times; the hub must still read what clients send (here: subscribe, then unsubscribe).
    @Test func producersThatNeverPauseDoNotStarveClientMessages() async throws {
        let hub = try await ServerHarness.start { $0.tickMilliseconds = 0 }
        let paths = (0..<500).map { "/t/\($0)" }
        for path in paths { hub.store.publish(try ChannelPath(path), .integer(0)) }
        let publisher = hub.publishContinuously(paths, every: 0)
        let seen = try PythonClient.run("message_subscribe", port: hub.port, ["/t/**"])
        publisher.stop()
        await hub.stop()
        #expect(seen["subscribed"]?["type"] == .string("subscribed"))
        guard case .array(let snapshot) = seen["snapshot_channels"] else {
            Issue.record("no snapshot: \(seen)")
            return
        }
        #expect(snapshot.count == 500)
        #expect(seen["unsubscribed"]?["type"] == .string("unsubscribed"))
        #expect(seen["updates_after_unsubscribe"] == .integer(0))
    }

    @Test func aMisbehavingClientDoesNotDisturbOthers() async throws {
        let hub = try await ServerHarness.start()
        let publisher = hub.publishContinuously(["/t/a"])
        let seen = try PythonClient.run("other_client_unaffected", port: hub.port, ["/t/a"])
        publisher.stop()
        await hub.stop()
        #expect(seen["bad_client_close"] == .integer(1007))
        #expect(seen["good_client_updates"] == .integer(5))
    }

    /// RFC 6455 §4.2.1–4.2.2: only a GET with a 16-byte base64 key and version 13 is upgraded;
    /// every other handshake gets the HTTP status the RFC names, and a reason.
    @Test func handshakesWithoutTheRightHeadersGetTheRFCStatusWithAReason() async throws {
        let hub = try await ServerHarness.start()
        let seen = try PythonClient.run("handshakes", port: hub.port)
        await hub.stop()
        let reason =
            "this is a WebSocket endpoint; send GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13"
        for name in ["no_upgrade", "no_key"] {
            #expect(seen[name] == .object(["status": .integer(400), "body": .object(["error": .string(reason)])]))
        }
        #expect(seen["bad_version"]?["status"] == .integer(426))
        #expect(seen["bad_version"]?["headers"]?["Sec-WebSocket-Version"] == .string("13"))
        #expect(seen["post"]?["status"] == .integer(405))
        #expect(seen["post"]?["headers"]?["Allow"] == .string("GET"))
        #expect(seen["post"]?["body"]?["error"] == .string("a WebSocket handshake must be a GET"))
        let badKey = JSONValue.string("Sec-WebSocket-Key must be 16 random bytes, base64-encoded")
        #expect(seen["short_key"]?["status"] == .integer(400))
        #expect(seen["short_key"]?["body"]?["error"] == badKey)
        #expect(seen["not_base64_key"]?["status"] == .integer(400))
        #expect(seen["not_base64_key"]?["body"]?["error"] == badKey)
        #expect(seen["good"]?["status"] == .integer(101))
        #expect(seen["bad_pattern"]?["status"] == .integer(400))
        #expect(
            seen["bad_pattern"]?["body"]?["error"]
                == .string(
                    "'/a/**/b' is not a valid channel path or pattern: '**' may only be the last segment of a pattern"
                )
        )
    }

    @Test func connectionsBeyondTheLimitGet503() async throws {
        let hub = try await ServerHarness.start { $0.maxConnections = 3 }
        let seen = try PythonClient.run("connection_limit", port: hub.port, ["3"])
        await hub.stop()
        #expect(seen["extra"]?["status"] == .integer(503))
        #expect(seen["extra"]?["body"]?["error"] == .string("too many connections (limit 3)"))
        #expect(seen["after_one_left"] == .string("welcome"))
    }

    @Test func httpEndpoints() async throws {
        let hub = try await ServerHarness.start()
        hub.store.publish(try ChannelPath("/t/a"), .integer(1), timestamp: 5)
        hub.store.publish(try ChannelPath("/t/a"), .object(["v": .double(2.5)]), timestamp: 6)
        let seen = try PythonClient.run("http", port: hub.port)
        await hub.stop()
        #expect(seen["healthz"] == .object(["status": .integer(200), "body": .object(["status": .string("ok")])]))
        #expect(seen["readyz"] == .object(["status": .integer(200), "body": .object(["status": .string("ready")])]))
        #expect(
            seen["channels"]?["body"]
                == .object([
                    "epoch": .string(hub.store.epoch),
                    "channels": .array([
                        .object(["channel": .string("/t/a"), "version": .integer(2), "ts": .integer(6)])
                    ]),
                ])
        )
        #expect(
            seen["one"]
                == .object([
                    "status": .integer(200),
                    "body": .object([
                        "channel": .string("/t/a"), "version": .integer(2), "ts": .integer(6),
                        "value": .object(["v": .double(2.5)]),
                    ]),
                ])
        )
        #expect(seen["missing"]?["status"] == .integer(404))
        #expect(seen["missing"]?["body"]?["error"] == .string("no such channel: /t/zzz"))
        #expect(seen["bad_path"]?["status"] == .integer(400))
        #expect(seen["unknown_route"]?["status"] == .integer(404))
        #expect(seen["wrong_method"]?["status"] == .integer(405))
        #expect(seen["wrong_method"]?["allow"] == .string("GET, HEAD"))
    }

    @Test func readyzSaysStartingUntilTheHubIsReady() async throws {
        let hub = try await ServerHarness.start(ready: false)
        let seen = try PythonClient.run("get", port: hub.port, ["/readyz"])
        await hub.stop()
        #expect(seen == .object(["status": .integer(503), "body": .object(["status": .string("starting")])]))
    }

    @Test func aClientThatPausesGetsTheNewestValueNotABacklog() async throws {
        let hub = try await ServerHarness.start()
        let publisher = hub.publishContinuously(["/t/a"], every: 0.001)
        let seen = try PythonClient.run("slow_reader", port: hub.port, ["/t/a", "2"])
        publisher.stop()
        let newest = hub.store.latest(try ChannelPath("/t/a"))!.version
        await hub.stop()
        // ~2,000 versions were published during the pause; the ticks (every 10 ms) conflated them.
        let updates = seen["updates"]?.numberValue ?? 0
        #expect(updates > 0)
        #expect(updates < Double(newest) / 3)
        #expect(seen["last_version"]?.numberValue ?? 0 >= Double(newest) - 200)
        #expect(seen["increasing"] == .bool(true))
    }

    @Test func aClientThatNeverReadsIsClosedAsASlowConsumer() async throws {
        let hub = try await ServerHarness.start { $0.maxPendingBytes = 65_536 }
        let big = JSONValue.string(String(repeating: "x", count: 2_000))
        let paths = try (0..<200).map { try ChannelPath("/big/\($0)") }
        for path in paths { hub.store.publish(path, big) }
        let stop = Atomic<Bool>(false)
        let store = hub.store
        Thread.detachNewThread {
            while !stop.load(ordering: .relaxed) {
                for path in paths { store.publish(path, big) }
                usleep(10_000)
            }
        }
        let seen = try PythonClient.run("slow_consumer", port: hub.port, ["/big/**"])
        stop.store(true, ordering: .relaxed)
        await hub.stop()
        #expect(seen["close"] == .integer(4008))
    }

    /// The fast path's guarantees (`DirectSocket`), end to end, with direct sends on and off: a
    /// client that stops reading in the middle of large batches while it keeps sending pings gets,
    /// once it reads again, every frame whole, its replies in order, `subscribed` before the
    /// snapshot before the updates, increasing versions — and nothing is lost to a 4008.
    @Test(arguments: [true, false])
    func aReaderThatStallsMidBatchGetsWholeFramesInOrder(directSends: Bool) async throws {
        let hub = try await ServerHarness.start { $0.directSends = directSends }
        // 100 channels of 1,500 bytes every 5 ms: each tick's batch to this client is ~150 KB.
        let big = JSONValue.string(String(repeating: "x", count: 1_500))
        let paths = (0..<100).map { "/big/\($0)" }
        for path in paths { hub.store.publish(try ChannelPath(path), big) }
        let publisher = hub.publishContinuously(paths, value: big)
        let seen = try PythonClient.run("stalled_reader", port: hub.port, ["/big/**", "2", "8"])
        publisher.stop()
        await hub.stop()
        #expect(seen["bad_frames"] == .integer(0))
        #expect(seen["close"] == .null)
        #expect(seen["subscribed_first"] == .bool(true))
        #expect(seen["snapshot_before_updates"] == .bool(true))
        #expect(seen["increasing"] == .bool(true))
        #expect(seen["pongs_in_order"] == .bool(true))
        #expect(seen["pongs"] == seen["pings"])
        #expect((seen["updates"]?.numberValue ?? 0) > 0)
    }

    /// The same stalled reader under a small `max_pending_bytes`: closed with 4008, the close frame
    /// last on the wire, every frame before it whole and in order.
    @Test(arguments: [true, false])
    func aStalledReaderOverTheCapIsClosedWith4008AfterWholeFrames(directSends: Bool) async throws {
        let hub = try await ServerHarness.start {
            $0.directSends = directSends
            $0.maxPendingBytes = 65_536
        }
        // 100 channels of 1,500 bytes every 5 ms: each tick's batch to this client is ~150 KB.
        let big = JSONValue.string(String(repeating: "x", count: 1_500))
        let paths = (0..<100).map { "/big/\($0)" }
        for path in paths { hub.store.publish(try ChannelPath(path), big) }
        let publisher = hub.publishContinuously(paths, value: big)
        let seen = try PythonClient.run("stalled_reader", port: hub.port, ["/big/**", "2", "8"])
        publisher.stop()
        await hub.stop()
        #expect(seen["close"] == .integer(4008))
        #expect(seen["after_close"] == .integer(0))
        #expect(seen["bad_frames"] == .integer(0))
        #expect(seen["pongs_in_order"] == .bool(true))
        #expect(seen["increasing"] == .bool(true))
    }

    @Test func manyClientsAtOnce() async throws {
        let hub = try await ServerHarness.start()
        let publisher = hub.publishContinuously(["/t/a"], every: 0.01)
        let seen = try PythonClient.run("many_clients", port: hub.port, ["/t/a", "200"], timeout: 120)
        publisher.stop()
        await hub.stop()
        #expect(seen["ok"] == .integer(200), "\(seen["failures"] ?? .null)")
    }

    @Test func fiftyThousandChannelSnapshotArrivesWhole() async throws {
        let hub = try await ServerHarness.start()
        for i in 0..<50_000 {
            hub.store.publish(try ChannelPath("/plant/unit-\(i / 20)/p\(i % 20)"), .double(Double(i)))
        }
        let seen = try PythonClient.run("big_snapshot", port: hub.port, ["/plant/**"])
        await hub.stop()
        #expect(seen["count"] == .integer(50_000))
        #expect(seen["unique"] == .integer(50_000))
    }

    @Test func shutdownClosesWebSocketsWith1001() async throws {
        let hub = try await ServerHarness.start()
        let marker = markerPath()
        async let seen = offPool { try PythonClient.run("shutdown_close", port: hub.port, [marker]) }
        #expect(await waitForFile(marker))
        await hub.stop()
        let result = try await seen
        #expect(result["code"] == .integer(1001))
        #expect(result["reason"] == .string("server shutting down"))
    }
}

extension JSONValue {
    fileprivate var arrayFirst: JSONValue? {
        if case .array(let a) = self { return a.first }
        return nil
    }
}
