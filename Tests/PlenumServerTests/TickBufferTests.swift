import NIOCore
import NIOEmbedded
import PlenumCore
import Testing

/// What a client that does not read can hold: only its own bytes. A tick with several changes
/// writes their frames once into one shared buffer and gives each connection a slice of it; a
/// slice left queued in NIO kept the whole buffer alive while `max_pending_bytes` counted only
/// the slice (found in review: 650 queued slices of a 1 MiB tick held hundreds of MB).
@Suite struct TickBufferTests {
    @Test func whatIsQueuedForAConnectionHoldsOnlyItsOwnBytes() throws {
        let client = try WebSocketFuzzFindingsTests.Client(uri: "/ws/m/c7")
        // A second connection on the same loop wants every channel: the tick's joined frames
        // then hold all 300 of them.
        let everything = EmbeddedChannel(loop: client.channel.embeddedEventLoop)
        try everything.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_001)).wait()
        try client.loop.addConnection(to: everything, uri: "/ws/m/**")
        while try client.channel.readOutbound(as: ByteBuffer.self) != nil {}
        let text = String(repeating: "x", count: 200)
        for i in 0..<300 { try client.publish("/m/c\(i)", .string(text)) }
        client.loop.tick()

        var queued: [ByteBuffer] = []
        while let buffer = try client.channel.readOutbound(as: ByteBuffer.self) { queued.append(buffer) }
        let update = try #require(queued.first, "no update was written")
        #expect(queued.count == 1)
        #expect(String(buffer: update).contains("/m/c7"))
        // The tick's joined frames are ~80 KB; this connection's one frame ~280 bytes.
        #expect(update.storageCapacity <= 2 * update.readableBytes + 4096)
        _ = try everything.finish(acceptAlreadyClosed: true)
    }
}
