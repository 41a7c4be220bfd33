import Logging
import NIOCore
import NIOEmbedded
import PlenumCore
import PlenumServer
import Testing

/// What the WebSocket fuzz target (`Tests/Fuzz/WebSocket`, docs/reliability.md) found, kept
/// fixed: each test replays the finding through `PushLoop`, the same package seam the target uses.
@Suite struct WebSocketFuzzFindingsTests {
    /// One upgraded connection on an `EmbeddedChannel`, driven by masked client frames.
    final class Client {
        let channel = EmbeddedChannel()
        let store = ChannelStore(epoch: "e", history: 4)
        let loop: PushLoop

        init(uri: String = "/ws") throws {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            loop = PushLoop(
                eventLoop: channel.eventLoop,
                store: store,
                configuration: ServerConfiguration(),
                logger: logger
            )
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_000)).wait()
            try loop.addConnection(to: channel, uri: uri)
        }

        func send(_ text: String) throws {
            let payload = Array(text.utf8)
            precondition(payload.count < 126)
            let key: [UInt8] = [1, 2, 3, 4]
            let frame =
                [0x81, 0x80 | UInt8(payload.count)] + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
            try channel.writeInbound(ByteBuffer(bytes: frame))
        }

        func publish(_ path: String, _ value: JSONValue) throws {
            _ = store.publish(try ChannelPath(path), value)
        }

        /// The text messages written since the last call, parsed.
        func messages() throws -> [JSONValue] {
            var out: [JSONValue] = []
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                while buffer.readableBytes > 0 {
                    let first = buffer.readInteger(as: UInt8.self)!
                    var length = Int(buffer.readInteger(as: UInt8.self)! & 0x7F)
                    if length == 126 { length = Int(buffer.readInteger(as: UInt16.self)!) }
                    if length == 127 { length = Int(buffer.readInteger(as: UInt64.self)!) }
                    let payload = buffer.readBytes(length: length)!
                    if first & 0x0F == 1 { out.append(try JSONParser.parse(payload)) }
                }
            }
            return out
        }

        /// (channel, version) of every update and snapshot entry, in order.
        func versions(_ messages: [JSONValue]) -> [String] {
            messages.flatMap { message -> [String] in
                let entries: [JSONValue]
                switch message["type"]?.stringValue {
                case "update": entries = [message]
                case "snapshot":
                    if case .array(let list)? = message["channels"] { entries = list } else { entries = [] }
                default: entries = []
                }
                return entries.map {
                    "\($0["channel"]?.stringValue ?? "?") v\($0["version"]?.numberValue.map { Int($0) } ?? -1)"
                }
            }
        }
    }

    /// A channel published since the loop's last tick, then a subscribe of a pattern the client
    /// already held: the snapshot carried version 1, and the next tick sent version 1 again as
    /// an update ("versions only go up" broken; the connection had no entry for the channel yet).
    @Test func aSnapshotOfAHeldPatternIsNotFollowedByTheSameVersionAgain() throws {
        let client = try Client()
        try client.send(#"{"op":"subscribe","channels":["/**"]}"#)
        client.loop.tick()
        try client.publish("/new", .integer(1))
        try client.send(#"{"op":"subscribe","channels":["/**"]}"#)
        client.loop.tick()
        try client.publish("/new", .integer(2))
        client.loop.tick()
        let seen = client.versions(try client.messages())
        #expect(seen == ["/new v1", "/new v2"])
    }

    /// The same through `resume`: the client says it has version 1 of a channel the loop has
    /// not learned yet; the tick must not send it version 1.
    @Test func aResumedPositionOnAChannelNotYetLearnedIsKept() throws {
        let client = try Client()
        try client.send(#"{"op":"subscribe","channels":["/**"]}"#)
        client.loop.tick()
        try client.publish("/new", .integer(1))
        try client.send(#"{"op":"subscribe","channels":["/**"],"resume":{"epoch":"e","channels":{"/new":1}}}"#)
        client.loop.tick()
        try client.publish("/new", .integer(2))
        client.loop.tick()
        let messages = try client.messages()
        #expect(messages.contains { $0["recovered"] == .bool(true) })
        #expect(client.versions(messages) == ["/new v2"])
    }
}
