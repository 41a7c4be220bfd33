import FoundationEssentials
import NIOCore
import NIOPosix
import NIOWebSocket
public import PlenumCore

/// Subscribes to patterns on a hub and reports each snapshot entry and update as it arrives —
/// the engine of `plenum watch`.
public final class ChannelWatcher: Sendable {
    /// What the watcher saw.
    public enum Event: Sendable, Equatable {
        /// A channel's value, from the snapshot or an update; `age` is now − its publish time.
        case value(channel: String, version: Int64, value: JSONValue, ageMicros: Int64, fromSnapshot: Bool)
        /// The hub refused the subscription (`error` message).
        case refused(code: String, message: String)
        /// The connection ended; `code` is the close code the hub sent, if any.
        case closed(code: UInt16?)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public init() {}

    /// Connects to `url` (`ws://host:port`) with `token` (if any), subscribes to `patterns`, and
    /// calls `onEvent` on the connection's event loop until it returns false or the connection ends.
    public func watch(
        url: String,
        token: String? = nil,
        patterns: [ChannelPattern],
        onEvent: @escaping @Sendable (Event) -> Bool
    ) async throws {
        let (host, port) = try Self.address(of: url)
        let channel: Channel
        do {
            channel = try await WebSocketConnector.connect(
                host: host,
                port: port,
                path: "/ws",
                token: token,
                group: group
            ) { _ in
                [WatchHandler(patterns: patterns, onEvent: onEvent)]
            }
        } catch let refused as WebSocketConnector.Refused {
            try? await group.shutdownGracefully()
            throw Failure(description: refused.description)
        } catch {
            try? await group.shutdownGracefully()
            throw Failure(description: "cannot connect to \(url): \(error)")
        }
        try? await channel.closeFuture.get()
        try? await group.shutdownGracefully()
    }

    /// `ws://host:port[/]` → host and port (default 8080).
    public static func address(of url: String) throws -> (host: String, port: Int) {
        guard url.hasPrefix("ws://") else { throw Failure(description: "'\(url)' is not a ws:// URL") }
        var rest = url.dropFirst(5)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else {
            throw Failure(description: "'\(url)' has no host")
        }
        guard parts.count == 2 else { return (String(host), 8080) }
        guard let port = Int(parts[1]), (1...65_535).contains(port) else {
            throw Failure(description: "'\(url)' has an invalid port")
        }
        return (String(host), port)
    }
}

/// Sends the subscribe, then turns snapshot and update messages into events.
final class WatchHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let patterns: [ChannelPattern]
    private let onEvent: @Sendable (ChannelWatcher.Event) -> Bool
    private var text: [UInt8] = []
    private var closeCode: UInt16?

    init(patterns: [ChannelPattern], onEvent: @escaping @Sendable (ChannelWatcher.Event) -> Bool) {
        self.patterns = patterns
        self.onEvent = onEvent
    }

    /// Subscribes as soon as the upgrade is done. (Not on `welcome`: bytes that arrive together
    /// with the 101 response can reach the pipeline before this handler is added.)
    func handlerAdded(context: ChannelHandlerContext) {
        let request = JSONValue.object([
            "op": .string("subscribe"), "channels": .array(patterns.map { .string($0.string) }),
        ])
        let frame = WebSocketFrame(
            fin: true,
            opcode: .text,
            maskKey: .random(),
            data: context.channel.allocator.buffer(bytes: request.jsonBytes)
        )
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        _ = onEvent(.closed(code: closeCode))
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var payload = frame.unmaskedData
            text += payload.readBytes(length: payload.readableBytes) ?? []
            guard frame.fin else { return }
            let message = (try? JSONParser.parse(text)) ?? .null
            text.removeAll()
            handle(message, context: context)
        case .connectionClose:
            var payload = frame.unmaskedData
            closeCode = payload.readInteger(as: UInt16.self)
            context.close(promise: nil)
        default:
            break
        }
    }

    private func handle(_ message: JSONValue, context: ChannelHandlerContext) {
        let now = ChannelStore.nowMicros()
        var keepGoing = true
        switch message["type"]?.stringValue {
        case "snapshot":
            guard case .array(let entries)? = message["channels"] else { return }
            for entry in entries where keepGoing { keepGoing = report(entry, now: now, fromSnapshot: true) }
        case "update":
            keepGoing = report(message, now: now, fromSnapshot: false)
        case "error":
            keepGoing = onEvent(
                .refused(code: message["code"]?.stringValue ?? "?", message: message["message"]?.stringValue ?? "")
            )
        default:
            break
        }
        if !keepGoing { context.close(promise: nil) }
    }

    private func report(_ entry: JSONValue, now: Int64, fromSnapshot: Bool) -> Bool {
        guard let channel = entry["channel"]?.stringValue, case .integer(let version)? = entry["version"],
            case .integer(let ts)? = entry["ts"]
        else { return true }
        return onEvent(
            .value(
                channel: channel,
                version: version,
                value: entry["value"] ?? .null,
                ageMicros: max(0, now - ts),
                fromSnapshot: fromSnapshot
            )
        )
    }
}
