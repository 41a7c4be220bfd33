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
