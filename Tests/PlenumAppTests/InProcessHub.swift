import Foundation
import Logging
import PlenumApp
import PlenumConfig
import PlenumCore
import PlenumTestSupport
import ServiceLifecycle
import Synchronization

/// A hub built by `buildHub` — the composition root `plenum run` uses — running in this test
/// process on a free port, with its log in memory.
final class InProcessHub: Sendable {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    let hub: Hub
    let port: Int
    let log: LogRecorder
    private let group: ServiceGroup
    private let running: Task<Error?, Never>

    /// Builds the hub from `hub.yaml` text (scripts resolve against `Fixtures`) and waits until
    /// it listens.
    init(yaml: String, configPath: String? = nil) async throws {
        let config = try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: Self.fixtures)
        let log = LogRecorder()
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let options = HubOptions(configPath: configPath, portOverride: 0, scriptPollSeconds: 0.2) { port in
            listening.yield(port)
            listening.finish()
        }
        let logger = log.logger(level: .debug)
        hub = buildHub(configuration: config, options: options, logger: logger)
        let group = hub.makeServiceGroup(logger: logger)
        self.group = group
        running = Task {
            do {
                try await group.run()
                return nil
            } catch {
                return error
            }
        }
        self.log = log
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            throw HubDidNotStart(reason: "\(await running.value.map { "\($0)" } ?? "no error")")
        }
        self.port = port
    }

    /// Asks for a graceful shutdown (what SIGTERM does) and waits until every service ended.
    func shutdown() async -> Error? {
        await group.triggerGracefulShutdown()
        return await running.value
    }

    /// The latest value of a channel.
    func value(_ path: String) -> JSONValue? {
        (try? ChannelPath(path)).flatMap { hub.store.latest($0)?.value }
    }
}

struct HubDidNotStart: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the hub did not listen: \(reason)" }
}
