import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Sends the upgrade request once the TCP connection is up.
final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let path: String
    private let host: String

    init(path: String, host: String) {
        self.path = path
        self.host = host
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }
}

/// Counts what arrives on one WebSocket: latency from each update's `ts`, version gaps.
final class LoadReceiver: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame

    private let stats: LoadStats
    private let start: Double
    private var lastVersion: [String: UInt64] = [:]
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

    private func handle(_ payload: ByteBuffer) {
        stats.bytes += payload.readableBytes
        payload.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let typeStart = find(#""type":""#, in: bytes, from: 0) else { return }
            if matches("update", in: bytes, at: typeStart) {
                let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
                guard let ts = integer(after: #""ts":"#, in: bytes),
                    let version = integer(after: #""version":"#, in: bytes),
                    let channel = string(after: #""channel":""#, in: bytes)
                else { return }
                let latency = max(0, now - ts)
                stats.messages += 1
                stats.histogram.record(latency)
                let second = Int(Double(now) / 1e6 - start)
                stats.timeline[second, default: LatencyHistogram()].record(latency)
                if let last = lastVersion[channel], UInt64(version) > last + 1 {
                    stats.skipped += UInt64(version) - last - 1
                }
                lastVersion[channel] = UInt64(version)
            }
        }
    }

    private func find(_ needle: String, in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        let n = Array(needle.utf8)
        guard bytes.count >= n.count else { return nil }
        var i = from
        while i + n.count <= bytes.count {
            if bytes[i] == n[0] {
                var j = 1
                while j < n.count && bytes[i + j] == n[j] { j += 1 }
                if j == n.count { return i + n.count }
            }
            i += 1
        }
        return nil
    }

    private func matches(_ word: String, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count else { return false }
        for k in 0..<w.count where bytes[index + k] != w[k] { return false }
        return true
    }

    private func integer(after key: String, in bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard var i = find(key, in: bytes, from: 0) else { return nil }
        var value: Int64 = 0
        var digits = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            value = value * 10 + Int64(bytes[i] - 0x30)
            i += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    private func string(after key: String, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let start = find(key, in: bytes, from: 0) else { return nil }
        var end = start
        while end < bytes.count, bytes[end] != 0x22 { end += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
}
