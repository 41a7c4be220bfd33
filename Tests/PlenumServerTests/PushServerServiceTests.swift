import Foundation
import Logging
import PlenumCore
import PlenumTestSupport
import ServiceLifecycle
import Testing

@testable import PlenumServer

/// `PushServer` as a `Service` under a `ServiceGroup`, as the hub runs it.
@Suite(.serialized) struct PushServerServiceTests {
    @Test func gracefulShutdownClosesWebSocketsWith1001AndRunReturns() async throws {
        let store = ChannelStore()
        let recorder = LogRecorder()
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let server = PushServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            store: store,
            logger: recorder.logger(level: .info),
            onListening: { listening.yield($0) }
        )
        // Nothing runs before run(): no port, no log line.
        #expect(recorder.entries.isEmpty)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: server)], logger: Logger(label: "test"))
        )
        async let running: Void = group.run()
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let marker = markerPath()
        async let seen = offPool { try PythonClient.run("shutdown_close", port: port, [marker]) }
        #expect(await waitForFile(marker))
        await group.triggerGracefulShutdown()
        try await running
        let result = try await seen
        #expect(result["code"] == .integer(1001))
        #expect(result["reason"] == .string("server shutting down"))
        #expect(recorder.entries.contains { $0.hasPrefix("info listening") })
        #expect(recorder.entries.last?.hasPrefix("info server stopped") == true)
    }

    @Test func aPortInUseFailsRunWithTheError() async throws {
        let first = try await ServerHarness.start()
        let server = PushServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: first.port),
            store: ChannelStore(),
            logger: Logger(label: "test")
        )
        await #expect(throws: (any Error).self) { try await server.run() }
        await first.stop()
    }
}
