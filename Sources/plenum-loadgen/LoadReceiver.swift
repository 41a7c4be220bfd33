import Foundation
import NIOCore
import NIOWebSocket

/// Counts what arrives on one WebSocket: latency from each update's `ts`, version gaps.
final class LoadReceiver: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame

    private let stats: LoadStats
    private let start: Double
    /// Last version seen per channel (keyed by a hash of the channel path).
    private var lastVersion: [Int: UInt64] = [:]
    private var fragments: ByteBuffer?

    init(stats: LoadStats, start: Double) {
        self.stats = stats
        self.start = start
    }

    func handlerAdded(context: ChannelHandlerContext) { stats.connected += 1 }

    func channelInactive(context: ChannelHandlerContext) {
        stats.closed += 1
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if stats.errors.count < 5 { stats.errors.append("\(error)") }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var payload = frame.unmaskedData
            if !frame.fin || fragments != nil {
                if fragments == nil { fragments = payload } else { fragments!.writeBuffer(&payload) }
                guard frame.fin else { return }
                payload = fragments!
                fragments = nil
            }
            handle(payload)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    /// Reads an update's channel, version and ts in one forward pass over the bytes (the hub
    /// always writes `{"type":"update","channel":"…","version":N,"ts":T,"value":…}`); any other
    /// message is only counted in bytes.
    private func handle(_ payload: ByteBuffer) {
        stats.bytes += payload.readableBytes
        payload.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let prefix = Self.updatePrefix
            guard bytes.count > prefix.count else { return }
            for k in 0..<prefix.count where bytes[k] != prefix[k] { return }
            var i = prefix.count
            var hasher = Hasher()
            while i < bytes.count, bytes[i] != 0x22 {
                hasher.combine(bytes[i])
                i += 1
            }
            let channel = hasher.finalize()
            guard let (version, afterVersion) = Self.integer(in: bytes, from: i, skipping: 12),
                let (ts, _) = Self.integer(in: bytes, from: afterVersion, skipping: 6)
            else { return }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let nowMicros = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
            let latency = max(0, nowMicros - ts)
            stats.messages += 1
            stats.histogram.record(latency)
            stats.record(latency, second: Int(Double(nowMicros) / 1e6 - start))
            if let last = lastVersion[channel], UInt64(version) > last + 1 {
                stats.skipped += UInt64(version) - last - 1
            }
            lastVersion[channel] = UInt64(version)
        }
    }

    private static let updatePrefix = Array(#"{"type":"update","channel":""#.utf8)

    /// The digits starting `skip` bytes after `index` (past `","version":` or `,"ts":`).
    private static func integer(
        in bytes: UnsafeBufferPointer<UInt8>,
        from index: Int,
        skipping skip: Int
    )
        -> (Int64, Int)?
    {
        var i = index + skip
        var value: Int64 = 0
        let start = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            value = value * 10 + Int64(bytes[i] - 0x30)
            i += 1
        }
        return i > start ? (value, i) : nil
    }
}
