import Foundation
import Logging
import PlenumCore
import Synchronization

@testable import PlenumServer

/// A real `PushServer` on 127.0.0.1, port 0, with its store, for end-to-end tests.
final class ServerHarness: Sendable {
    let store: ChannelStore
    let server: PushServer
    let port: Int
    private let task: Task<Void, Error>

    private init(server: PushServer, port: Int, store: ChannelStore, task: Task<Void, Error>) {
        self.server = server
        self.port = port
        self.store = store
        self.task = task
    }

    static func start(
        history: Int = 16,
        ready: Bool = true,
        logger: Logger? = nil,
        historySource: (any HistorySource)? = nil,
        commands: CommandRouter? = nil,
        dashboard: DashboardFiles? = nil,
        _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> ServerHarness {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configure(&configuration)
        let store = ChannelStore(history: history)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let server = PushServer(
            configuration: configuration,
            store: store,
            logger: logger ?? quiet,
            isReady: { ready },
            history: historySource,
            commands: commands,
            dashboard: dashboard,
            onListening: { port in
                listening.yield(port)
                listening.finish()
            }
        )
        let task = Task {
            defer { listening.finish() }
            try await server.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await task.value
            throw CancellationError()
        }
        return ServerHarness(server: server, port: port, store: store, task: task)
    }

    /// Publishes an increasing integer (or `value`) to each path every `interval` until stopped.
    func publishContinuously(_ paths: [String], every interval: Double = 0.005, value: JSONValue? = nil) -> Publisher {
        Publisher(store: store, paths: paths.map { try! ChannelPath($0) }, interval: interval, value: value)
    }

    /// Cancels the server's `run()` (as a `ServiceGroup` does) and waits until it returned.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// A producer thread, like a device's.
final class Publisher: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = Atomic<Bool>(false)

    init(store: ChannelStore, paths: [ChannelPath], interval: Double, value: JSONValue? = nil) {
        Thread.detachNewThread { [self] in
            var n: Int64 = 0
            while running.load(ordering: .relaxed) {
                n += 1
                for path in paths { store.publish(path, value ?? .integer(n)) }
                if interval > 0 { Thread.sleep(forTimeInterval: interval) }
            }
            finished.store(true, ordering: .relaxed)
        }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        for _ in 0..<200 where !finished.load(ordering: .relaxed) { usleep(5_000) }
    }
}

/// A unique path for a marker file a Python scenario creates to signal the test.
func markerPath() -> String {
    NSTemporaryDirectory() + "plenum-marker-\(UUID().uuidString)"
}
