import NIOCore
import NIOHTTP1
import NIOPosix
public import PlenumCore

/// Asks a hub for a channel's history over HTTP (`GET /api/history/<path>`) — the engine of
/// `plenum history`.
public struct HistoryClient: Sendable {
    /// What the hub answered.
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]

        /// The `error` message of a JSON error answer, if any.
        public var errorMessage: String? {
            (try? JSONParser.parse(body))?["error"]?.stringValue
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Answers larger than this are refused (the hub bounds its own; this guards the client).
    public static let maxBodyBytes = 256 << 20

    public init() {}

    /// `GET http://host:port/api/history<channel>?<parameters>` with `Accept: accept`.
    /// `url` is the hub's address, `http://` or `ws://` (the same port serves both).
    public func get(
        url: String,
        channel: ChannelPath,
        parameters: [(String, String)],
        accept: String = "application/json",
        token: String? = nil,
        timeoutSeconds: Int64 = 60
    ) async throws -> Response {
        let (host, port) = try Self.address(of: url)
        var target = "/api/history" + Self.percentEncode(channel.string, keepSlash: true)
        if !parameters.isEmpty {
            target +=
                "?" + parameters.map { "\($0)=\(Self.percentEncode($1, keepSlash: false))" }.joined(separator: "&")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let promise = group.next().makePromise(of: Response.self)
        var headers: HTTPHeaders = ["Host": "\(host):\(port)", "Accept": accept, "Connection": "close"]
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        ResponseCollector(head: head, promise: promise, timeoutSeconds: timeoutSeconds)
                    )
                }
            }
        do {
            _ = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw Failure(description: "cannot connect to \(url): \(error)")
        }
        return try await promise.futureResult.get()
    }

    /// `http://host:port[/…]` or `ws://host:port[/…]` → host and port (default 8080).
    public static func address(of url: String) throws -> (host: String, port: Int) {
        for scheme in ["http://", "ws://"] where url.hasPrefix(scheme) {
            return try ChannelWatcher.address(of: "ws://" + url.dropFirst(scheme.count))
        }
        throw Failure(description: "'\(url)' is not an http:// or ws:// URL")
    }

    static func percentEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                let hex = Array("0123456789ABCDEF")
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}

/// Sends the request once connected and collects the response (completing the promise once).
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let promise: EventLoopPromise<HistoryClient.Response>
    private let timeoutSeconds: Int64
    private var response: HistoryClient.Response?
    private var done = false
    private var timeout: Scheduled<Void>?

    init(head: HTTPRequestHead, promise: EventLoopPromise<HistoryClient.Response>, timeoutSeconds: Int64) {
        self.head = head
        self.promise = promise
        self.timeoutSeconds = timeoutSeconds
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<HistoryClient.Response, Error>) {
        if done { return }
        done = true
        timeout?.cancel()
        promise.completeWith(result)
        context.close(promise: nil)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        let seconds = timeoutSeconds
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            handler.finish(context, .failure(HistoryClient.Failure(description: "no answer within \(seconds) s")))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response = .init(
                status: Int(head.status.code),
                contentType: head.headers.first(name: "content-type"),
                body: []
            )
        case .body(let buffer):
            response?.body.append(contentsOf: buffer.readableBytesView)
            if (response?.body.count ?? 0) > HistoryClient.maxBodyBytes {
                let failure = HistoryClient.Failure(
                    description: "the answer is larger than \(HistoryClient.maxBodyBytes) bytes"
                )
                finish(context, .failure(failure))
            }
        case .end:
            if let response { finish(context, .success(response)) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(HistoryClient.Failure(description: "the hub closed the connection before answering")))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(context, .failure(error))
    }
}
