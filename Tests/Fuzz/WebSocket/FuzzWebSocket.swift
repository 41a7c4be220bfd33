import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import PlenumCore
import PlenumFuzzSupport
import PlenumServer

/// Fuzz target: arbitrary client bytes into an upgraded WebSocket connection — NIO's frame
/// decoder, `WebSocketConnectionHandler`, the connection's subscriptions, snapshots, resume and
/// the push tick — over an `EmbeddedChannel`, reached through `PlenumServer.PushLoop`, with a
/// real `ChannelStore` holding a few channels that the input keeps publishing to.
///
/// The input is a small program. Its first byte picks the limits (`max_pending_bytes`,
/// `max_message_bytes`, `max_subscriptions`) and the URL; then each operation is one byte
/// (its value modulo 8) and its operands:
///
/// | op | operands | what happens |
/// |---|---|---|
/// | 0 | n, n bytes | the client sends these raw bytes |
/// | 1 | h, n (255: two more bytes), n bytes | the client sends one masked frame: h's bit 7 FIN, bits 4–6 RSV, bits 0–3 opcode |
/// | 2 | c | a device publishes to one of eight channels (some appear only then); c picks which and the value |
/// | 3 | — | the push tick |
/// | 4 | — | the client reads everything sent so far |
/// | 5 | — | the client stops reading (or starts again, and reads) |
/// | 6 | t | time passes: a keep-alive interval, or the 5 s close timeout |
/// | 7 | — | the client goes away (FIN/RST) |
///
/// What must hold (`ClientSocket`, `ServerFrameChecker`): no trap; every write is whole,
/// well-formed server frames and every message the client reads is valid (welcome first, known
/// types, versions only going up); nothing is written after a close frame or after the output
/// is shut; the server closes a connection only after a close frame; nothing but a close frame
/// is queued while the connection holds more than `max_pending_bytes` (so it holds at most
/// that plus one write); nothing reaches the end of the pipeline unhandled.
@main enum FuzzWebSocket {
    static func main() { FuzzDriver.main() }
}

/// The channels the input publishes to; the last three do not exist until it does.
private let paths: [ChannelPath] = [
    "/plant/line1/chiller-1/supply_temp", "/plant/line1/chiller-1/status", "/plant/line2/ahu-2/fan_status",
    "/plenum/devices/chiller-1/status", "/x", "/plant/line1/chiller-9/supply_temp", "/plant/line3/a/b/c/d",
    "/plant/ünïcode/ε",
].map { try! ChannelPath($0) }

private let urls = ["/ws", "/ws/plant/**", "/ws/plant/line1/chiller-1/supply_temp", "/ws/plant/*/*/status"]

/// Input bytes read one at a time; past the end every read is 0 and `atEnd` is true.
private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0
    var atEnd: Bool { offset >= bytes.count }
    mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, offset + count)
        defer { offset = end }
        return offset < end ? Array(bytes[offset..<end]) : []
    }
}

/// A value whose update frame needs a 64-bit length (more than 65,535 bytes), built once.
private let huge = JSONValue.string(String(repeating: "x", count: 66_000))

private func value(for selector: UInt8, counter: Int) -> JSONValue {
    switch selector >> 3 & 7 {
    case 0, 1: return .double(Double(counter) / 8)
    case 2: return .string(String(repeating: "x", count: Int(selector) * 4))  // up to ~1 KiB
    case 3: return selector & 7 == 7 ? huge : .string("é ünïcode ε")
    case 4: return .object(["state": .string("running"), "n": .integer(Int64(counter))])
    case 5: return .array([.bool(true), .null, .integer(-1)])
    default: return .integer(Int64(counter))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = Reader(bytes: UnsafeBufferPointer(start: data, count: size))
    let setup = input.byte()
    var configuration = ServerConfiguration()
    configuration.maxPendingBytes = [256, 2048, 16_384, 4 * 1_048_576][Int(setup & 3)]
    configuration.maxMessageBytes = [200, 4096][Int(setup >> 2 & 1)]
    configuration.maxSubscriptions = [4, 1000][Int(setup >> 3 & 1)]
    configuration.maxSubscriptionBytes = [64, 65_536][Int(setup >> 4 & 1)]
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical

    let store = ChannelStore(epoch: "fuzz", history: 4)
    for path in paths.prefix(5) { _ = store.publish(path, .double(6.5)) }
    let channel = EmbeddedChannel()
    // Active, as an accepted socket is before it is upgraded.
    channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 40_000), promise: nil)
    let loop = PushLoop(eventLoop: channel.eventLoop, store: store, configuration: configuration, logger: logger)
    let client = ClientSocket(channel: channel, maxPendingBytes: configuration.maxPendingBytes)
    // The connection as the upgrade leaves it, the client's socket under everything.
    let id = loop.nextConnectionID
    client.pendingBytes = { loop.pendingBytes(ofConnection: id) }
    do {
        invariant(try loop.addConnection(to: channel, uri: urls[Int(setup >> 5 & 3)], socket: client) == id, "id")
    } catch {
        invariant(false, "setting up the pipeline failed: \(error)")
        return 0
    }
    client.read()  // the welcome, and a snapshot if the URL subscribed

    var published = 0
    let key: [UInt8] = [0x5A, 0xC3, 0x0F, 0x96]
    while !input.atEnd {
        switch input.byte() % 8 {
        case 0:
            let count = Int(input.byte())
            send(input.take(count), to: channel)
        case 1:
            let header = input.byte()
            var count = Int(input.byte())
            if count == 255 { count = Int(input.byte()) << 8 | Int(input.byte()) }
            let payload = input.take(count)
            var frame: [UInt8] = [header]
            if payload.count < 126 {
                frame.append(0x80 | UInt8(payload.count))
            } else {
                frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
            }
            frame += key
            frame += payload.enumerated().map { $0.element ^ key[$0.offset & 3] }
            send(frame, to: channel)
        case 2:
            let selector = input.byte()
            published += 1
            _ = store.publish(paths[Int(selector & 7)], value(for: selector, counter: published))
        case 3:
            loop.tick()
        case 4:
            client.read()
        case 5:
            client.reading.toggle()
            if client.reading { client.read() }
        case 6:
            let step: TimeAmount =
                input.byte() & 1 == 0 ? .milliseconds(Int64(configuration.pingIntervalMilliseconds)) : .seconds(5)
            channel.embeddedEventLoop.advanceTime(by: step)
        default:
            if channel.isActive {
                client.clientCloses = true
                channel.close(promise: nil)
                client.clientCloses = false
            }
        }
        channel.embeddedEventLoop.run()
    }

    // The end: publish once more, tick, read, then shut down as the server does.
    if channel.isActive {
        _ = store.publish(paths[0], .double(-1))
        loop.tick()
        client.reading = true
        client.read()
    }
    loop.shutdown()
    client.reading = true
    client.read()
    channel.embeddedEventLoop.advanceTime(by: .seconds(10))
    client.read()
    invariant(loop.connectionCount == 0, "a connection outlived its channel")
    invariant((try? channel.readInbound(as: WebSocketFrame.self)) == nil, "a client frame went unhandled")
    client.clientCloses = true
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}

private func send(_ bytes: [UInt8], to channel: EmbeddedChannel) {
    guard channel.isActive, !bytes.isEmpty else { return }
    do {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
    } catch {
        invariant(!channel.isActive, "an error reached the end of the pipeline: \(error)")
    }
}
