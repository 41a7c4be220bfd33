import NIOCore
import PlenumCore
import Testing

@testable import PlenumServer

/// The protocol logic without sockets: each event and the actions it yields.
@Suite struct SubscriptionSetTests {
    private func text(_ s: String) -> [UInt8] { Array(s.utf8) }
    private func json(_ bytes: [UInt8]) -> JSONValue { try! JSONParser.parse(bytes) }

    @Test func subscribeRepliesThenIndexesNewPatternsThenSnapshots() throws {
        var set = SubscriptionSet(limit: 10)
        let actions = set.received(text: text(#"{"op":"subscribe","channels":["/a/**","/b"],"id":1}"#))
        let a = try ChannelPattern("/a/**")
        let b = try ChannelPattern("/b")
        #expect(actions.count == 3)
        guard case .reply(let ack) = actions[0] else {
            Issue.record("no reply first")
            return
        }
        #expect(
            json(ack)
                == .object([
                    "type": .string("subscribed"), "channels": .array([.string("/a/**"), .string("/b")]),
                    "id": .integer(1),
                ])
        )
        #expect(actions[1] == .index([a, b]))
        #expect(actions[2] == .snapshot([a, b], id: .integer(1)))
        #expect(set.patterns == [a, b])
    }

    @Test func resubscribingIndexesNothingNewButStillSnapshots() throws {
        var set = SubscriptionSet(limit: 10)
        _ = set.subscribe([try ChannelPattern("/a")], id: nil)
        let actions = set.subscribe([try ChannelPattern("/a")], id: nil)
        #expect(actions.count == 2)
        #expect(actions[1] == .snapshot([try ChannelPattern("/a")], id: nil))
        #expect(set.patterns.count == 1)
    }

    @Test func theLimitCountsDistinctPatterns() throws {
        var set = SubscriptionSet(limit: 2)
        _ = set.subscribe([try ChannelPattern("/a"), try ChannelPattern("/a")], id: nil)
        #expect(set.patterns.count == 1)
        let refused = set.subscribe([try ChannelPattern("/b"), try ChannelPattern("/c")], id: .string("x"))
        guard case .refuse(let error) = refused.first, refused.count == 1 else {
            Issue.record("not refused")
            return
        }
        #expect(error.code == .tooManySubscriptions)
        #expect(error.id == .string("x"))
        #expect(json(ServerMessage.error(error))["code"] == .string("too_many_subscriptions"))
        #expect(set.patterns.count == 1)
    }

    @Test func unsubscribeUnindexesOnlyWhatWasHeld() throws {
        var set = SubscriptionSet(limit: 10)
        _ = set.subscribe([try ChannelPattern("/a"), try ChannelPattern("/b/*")], id: nil)
        let actions = set.unsubscribe([try ChannelPattern("/b/*"), try ChannelPattern("/zzz")], id: nil)
        #expect(actions.first == .unindex([try ChannelPattern("/b/*")]))
        #expect(set.patterns == [try ChannelPattern("/a")])
        #expect(set.matches(try ChannelPath("/a")))
        #expect(!set.matches(try ChannelPath("/b/c")))
    }

    @Test(arguments: [
        ("{", "invalid_json"), ("1", "invalid_message"), (#"{"op":"x"}"#, "unknown_op"),
        (#"{"op":"subscribe","channels":"/a"}"#, "invalid_message"),
        (#"{"op":"unsubscribe","channels":["/a/"]}"#, "bad_pattern"),
    ])
    func badMessagesYieldOneErrorReply(message: String, code: String) {
        var set = SubscriptionSet(limit: 10)
        let actions = set.received(text: text(message))
        guard case .refuse(let error) = actions.first, actions.count == 1 else {
            Issue.record("\(actions)")
            return
        }
        #expect(json(ServerMessage.error(error))["type"] == .string("error"))
        #expect(error.code.rawValue == code)
    }

    @Test func subscribeWithResumeDefersTheAckToTheScheduler() throws {
        var set = SubscriptionSet(limit: 10)
        let actions = set.received(
            text: text(#"{"op":"subscribe","channels":["/r/**"],"resume":{"epoch":"e","channels":{"/r/a":3}}}"#)
        )
        let pattern = try ChannelPattern("/r/**")
        #expect(
            actions == [
                .index([pattern]),
                .resume([pattern], id: nil, position: ResumePosition(epoch: "e", versions: ["/r/a": 3])),
            ]
        )
        let bad = set.received(text: text(#"{"op":"subscribe","channels":["/r"],"resume":{"epoch":1}}"#))
        guard case .refuse(let error) = bad.first else {
            Issue.record("\(bad)")
            return
        }
        #expect(error.code == .invalidMessage)
    }

    @Test func urlTargets() throws {
        #expect(WebSocketTarget(uri: "/ws") == .none)
        #expect(WebSocketTarget(uri: "/ws/") == .none)
        #expect(WebSocketTarget(uri: "/ws/plant/**") == .pattern(try ChannelPattern("/plant/**")))
        #expect(
            WebSocketTarget(uri: "/ws/a%20b")
                == .invalid(
                    "'/a b' is not a valid channel path or pattern: the path contains a forbidden character U+20 (whitespace, control characters and '*' are not allowed)"
                )
        )
        #expect(WebSocketTarget(uri: "/ws/caf%C3%A9?x=1") == .pattern(try ChannelPattern("/café")))
        #expect(WebSocketTarget(uri: "/ws/%zz") == .invalid("'/%zz' has an invalid %-escape"))
    }

    @Test func framesUseTheShortestLengthEncoding() {
        let allocator = ByteBufferAllocator()
        for (size, header) in [(5, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let frame = ServerFrame.text([UInt8](repeating: 0x61, count: size), allocator: allocator)
            #expect(frame.readableBytes == size + header)
            #expect(frame.getInteger(at: 0, as: UInt8.self) == 0x81)
        }
        let close = ServerFrame.close(4008, reason: String(repeating: "r", count: 300), allocator: allocator)
        #expect(close.readableBytes == 2 + 125)
    }
}

/// Issue 11 item 14: limits before work, and work linear in the message.
@Suite struct SubscriptionLimitTests {
    private func subscribe(_ patterns: [String]) -> [UInt8] {
        Array(
            JSONValue.object(["op": .string("subscribe"), "channels": .array(patterns.map { .string($0) })]).jsonBytes
        )
    }

    @Test func moreChannelsThanTheLimitAreRefusedBeforeParsing() {
        var set = SubscriptionSet(limit: 1_000)
        // 7,200 distinct patterns, one of them invalid: refused for the count, not the pattern.
        let actions = set.received(text: subscribe((0..<7_200).map { "/\($0)" } + ["/a/**/b"]))
        guard case .refuse(let error) = actions.first else {
            Issue.record("not refused: \(actions)")
            return
        }
        #expect(error.code == .tooManySubscriptions)
        #expect(error.message == "7201 channels in one message; at most 1000 are allowed per connection")
        #expect(set.patterns.isEmpty)
    }

    /// On main, de-duplication compared every new pattern with every other: 50,000 patterns took
    /// minutes. With hashing it is one pass (the time limit only catches a relapse).
    @Test(.timeLimit(.minutes(1)))
    func fiftyThousandDistinctPatternsAreHeldInLinearTime() throws {
        var set = SubscriptionSet(limit: 100_000)
        let patterns = try (0..<50_000).map { try ChannelPattern("/p/\($0)") }
        let actions = set.subscribe(patterns + patterns, id: nil)
        #expect(set.patterns.count == 50_000)
        #expect(actions.count == 3)
        let removed = set.unsubscribe(Array(patterns[..<25_000]), id: nil)
        #expect(set.patterns.count == 25_000)
        #expect(removed.first == .unindex(Array(patterns[..<25_000])))
    }

    @Test func heldPatternTextIsBounded() throws {
        var set = SubscriptionSet(limit: 100, byteLimit: 20)
        _ = set.subscribe([try ChannelPattern("/aaaa/bbbb")], id: nil)  // 10 bytes
        #expect(set.heldBytes == 10)
        let refused = set.subscribe([try ChannelPattern("/cccc/dddd/e")], id: .integer(4))  // 12 more
        guard case .refuse(let error) = refused.first else {
            Issue.record("not refused")
            return
        }
        #expect(error.message == "this would hold 22 bytes of patterns; at most 20 are allowed per connection")
        #expect(error.id == .integer(4))
        _ = set.unsubscribe([try ChannelPattern("/aaaa/bbbb")], id: nil)
        #expect(set.heldBytes == 0)
        _ = set.subscribe([try ChannelPattern("/cccc/dddd/e")], id: nil)
        #expect(set.heldBytes == 12)
    }
}
