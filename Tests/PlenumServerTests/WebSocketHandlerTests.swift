import CoreMetrics
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import PlenumCore
import Testing

@testable import PlenumServer

/// The RFC 6455 rules of `WebSocketConnectionHandler`, on an `EmbeddedChannel`: raw client bytes
/// in, the raw frames the server writes out (below NIO's encoder, as in production).
@Suite struct WebSocketHandlerTests {
    /// One upgraded connection's pipeline, as `PushServer` builds it.
    final class Connection {
        let channel = EmbeddedChannel()
        let scheduler: PushScheduler
        let connection: PushConnection

        init(
            maxMessageBytes: Int = 1024,
            maxPendingBytes: Int = 1 << 20,
            policy: AccessPolicy = .anonymous,
            authentication: RequestAccess.Outcome = .identified(AccessPolicy.anonymousIdentity)
        ) throws {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            var configuration = ServerConfiguration()
            configuration.maxPendingBytes = maxPendingBytes
            scheduler = PushScheduler(
                eventLoop: channel.eventLoop,
                store: ChannelStore(epoch: "e"),
                configuration: configuration,
                logger: logger,
                metrics: PushMetrics(factory: NOOPMetricsHandler.instance),
                access: ServerAccess(
                    ServerSecurity(policy: policy),
                    failures: AuthFailureLog(
                        logger: logger,
                        counter: Counter(label: "failures", factory: NOOPMetricsHandler.instance)
                    )
                )
            )
            let tap = RawWriteTap()
            try channel.pipeline.syncOperations.addHandler(tap)
            let output = try channel.pipeline.syncOperations.context(handler: tap)
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxMessageBytes))
            )
            connection = PushConnection(id: 1, output: output, subscriptions: SubscriptionSet(limit: 10))
            try channel.pipeline.syncOperations.addHandler(
                WebSocketConnectionHandler(
                    scheduler: scheduler,
                    connection: connection,
                    initialPattern: nil,
                    authentication: authentication,
                    maxMessageBytes: maxMessageBytes,
                    metrics: PushMetrics(factory: NOOPMetricsHandler.instance),
                    logger: logger
                )
            )
            if case .identified = authentication {
                #expect(try frames().map(\.opcode) == [0x1])  // welcome
            }
        }

        /// Sends one client frame (masked unless told otherwise).
        func send(
            _ opcode: UInt8,
            _ payload: [UInt8],
            fin: Bool = true,
            masked: Bool = true,
            rsv: UInt8 = 0
        ) throws {
            var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
            let mask: UInt8 = masked ? 0x80 : 0
            if payload.count < 126 {
                bytes.append(mask | UInt8(payload.count))
            } else {
                bytes.append(mask | 126)
                bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
            }
            let key: [UInt8] = [0x11, 0x22, 0x33, 0x44]
            if masked { bytes += key }
            bytes += payload.enumerated().map { masked ? $0.element ^ key[$0.offset % 4] : $0.element }
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        }

        func send(text: String, fin: Bool = true) throws { try send(0x1, Array(text.utf8), fin: fin) }

        /// Every frame the server wrote since the last call: opcode and payload.
        func frames() throws -> [(opcode: UInt8, payload: [UInt8])] {
            var out: [(UInt8, [UInt8])] = []
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                while buffer.readableBytes > 0 {
                    let first = buffer.readInteger(as: UInt8.self)!
                    var length = Int(buffer.readInteger(as: UInt8.self)! & 0x7F)
                    if length == 126 { length = Int(buffer.readInteger(as: UInt16.self)!) }
                    if length == 127 { length = Int(buffer.readInteger(as: UInt64.self)!) }
                    out.append((first & 0x0F, buffer.readBytes(length: length)!))
                }
            }
            return out
        }

        /// The close code of the one close frame the server wrote (nil: empty close).
        func closeCode() throws -> UInt16?? {
            let closes = try frames().filter { $0.opcode == 0x8 }
            guard closes.count == 1 else { return .none }
            let payload = closes[0].payload
            return payload.count >= 2 ? .some(UInt16(payload[0]) << 8 | UInt16(payload[1])) : .some(nil)
        }
    }

    @Test func unmaskedClientFramesClose1002() throws {
        let c = try Connection()
        try c.send(0x1, Array(#"{"op":"ping"}"#.utf8), masked: false)
        #expect(try c.closeCode() == 1002)
    }

    @Test(arguments: [UInt8(1), 2, 4])
    func reservedBitsClose1002(rsv: UInt8) throws {
        let c = try Connection()
        try c.send(0x1, Array(#"{"op":"ping"}"#.utf8), rsv: rsv)
        #expect(try c.closeCode() == 1002)
    }

    @Test(arguments: [UInt8(0x3), 0x7, 0xB, 0xF])
    func unknownOpcodesClose1002(opcode: UInt8) throws {
        let c = try Connection()
        try c.send(opcode, [])
        #expect(try c.closeCode() == 1002)
    }

    @Test func continuationOrderIsEnforced() throws {
        let orphan = try Connection()
        try orphan.send(0x0, Array("x".utf8))
        #expect(try orphan.closeCode() == 1002)

        let interleaved = try Connection()
        try interleaved.send(text: #"{"op":"#, fin: false)
        try interleaved.send(text: #""ping"}"#)
        #expect(try interleaved.closeCode() == 1002)
    }

    @Test func fragmentsAreJoinedAndControlFramesMayInterleave() throws {
        let c = try Connection()
        try c.send(text: #"{"op":"pi"#, fin: false)
        try c.send(0x9, Array("hello".utf8))
        try c.send(0x0, Array(#"ng","id":3}"#.utf8))
        let frames = try c.frames()
        #expect(frames.map(\.opcode) == [0xA, 0x1])
        #expect(frames[0].payload == Array("hello".utf8))
        #expect(String(decoding: frames[1].payload, as: UTF8.self) == #"{"id":3,"type":"pong"}"#)
    }

    @Test func sizesAreBounded() throws {
        let oneFrame = try Connection(maxMessageBytes: 200)
        try oneFrame.send(0x1, Array(repeating: UInt8(ascii: "x"), count: 201))
        #expect(try oneFrame.closeCode() == 1009)

        let fragments = try Connection(maxMessageBytes: 200)
        try fragments.send(0x1, Array(repeating: UInt8(ascii: "x"), count: 120), fin: false)
        try fragments.send(0x0, Array(repeating: UInt8(ascii: "x"), count: 120))
        #expect(try fragments.closeCode() == 1009)

        let bigPing = try Connection()
        try bigPing.send(0x9, Array(repeating: 0, count: 126))
        #expect(try bigPing.closeCode() == 1002)

        let fragmentedPing = try Connection()
        try fragmentedPing.send(0x9, [1], fin: false)
        #expect(try fragmentedPing.closeCode() == 1002)
    }

    @Test func textMustBeUTF8AndBinaryIsRefused() throws {
        let bad = try Connection()
        try bad.send(0x1, [0x7B, 0xC3, 0x28, 0x7D])
        #expect(try bad.closeCode() == 1007)

        let binary = try Connection()
        try binary.send(0x2, [1, 2])
        let frames = try binary.frames()
        #expect(frames.map(\.opcode) == [0x1])
        #expect(String(decoding: frames[0].payload, as: UTF8.self).contains(#""code":"binary_unsupported""#))
    }

    @Test(arguments: [
        (UInt16(1000), UInt16?.some(1000)), (1001, 1001), (1003, 1003), (1007, 1007), (1014, 1014),
        (3000, 3000), (4999, 4999), (999, 1002), (1004, 1002), (1005, 1002), (1006, 1002), (1015, 1002),
        (2999, 1002), (5000, 1002),
    ])
    func closeCodesAreEchoedOrRefused(sent: UInt16, answered: UInt16?) throws {
        let c = try Connection()
        try c.send(0x8, [UInt8(sent >> 8), UInt8(sent & 0xFF)] + Array("bye".utf8))
        #expect(try c.closeCode() == answered)
    }

    @Test func malformedCloseFrames() throws {
        let empty = try Connection()
        try empty.send(0x8, [])
        #expect(try empty.closeCode() == .some(nil))

        let oneByte = try Connection()
        try oneByte.send(0x8, [3])
        #expect(try oneByte.closeCode() == 1002)

        let badReason = try Connection()
        try badReason.send(0x8, [0x03, 0xE8, 0xFF])
        #expect(try badReason.closeCode() == 1007)
    }

    @Test func nothingIsAnsweredAfterTheConnectionStartedClosing() throws {
        let c = try Connection()
        try c.send(0x1, [0xFF])  // 1007
        #expect(try c.closeCode() == 1007)
        try c.send(text: #"{"op":"ping"}"#)
        try c.send(0x9, [1])
        #expect(try c.frames().isEmpty)
    }

    /// Issue 11 item 13: every reply (pong, error, snapshot) is queued only while what the
    /// connection holds back is under `max_pending_bytes`; past it the connection gets 4008.
    @Test(arguments: [#"{"op":"ping","id":1}"#, #"{"op":"subscribe","channels":["/**"]}"#, "not json"])
    func repliesBeyondThePendingCapClose4008(message: String) throws {
        let c = try Connection(maxPendingBytes: 4096)
        try c.send(text: #"{"op":"ping","id":0}"#)
        #expect(try c.frames().map(\.opcode) == [0x1])
        // EmbeddedChannel holds nothing back itself: stand in for a client that stopped reading
        // while updates were owed to it.
        c.connection.writable = false
        c.connection.owedBytes = 4097
        try c.send(text: message)
        #expect(try c.closeCode() == 4008)
    }

    @Test func aWebSocketPingIsAnsweredOnlyUnderTheCap() throws {
        let c = try Connection(maxPendingBytes: 4096)
        c.connection.writable = false
        c.connection.owedBytes = 4096
        try c.send(0x9, [7])
        #expect(try c.frames().map(\.opcode) == [0xA])
        c.connection.owedBytes = 4097
        try c.send(0x9, [8])
        #expect(try c.closeCode() == 4008)
    }
}
