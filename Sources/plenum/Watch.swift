import ArgumentParser
import FoundationEssentials
import PlenumClient
import PlenumCore
import Synchronization

/// `plenum watch`: print every update of the channels matching some patterns, one per line.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribe to channels on a running hub and print each value as it arrives.",
        discussion: """
            Each line is: CHANNEL  vVERSION  VALUE  (age N ms), where age is how long ago the value \
            was published. Exit status: 0 after --count updates or when the hub closes normally, \
            1 when the hub cannot be reached or closes the connection otherwise, 2 when it refuses \
            the subscription.
            """
    )

    @Option(help: "The hub's WebSocket address.")
    var url = "ws://127.0.0.1:8080"

    @Option(
        help:
            "An access token for a hub with auth: (better: the PLENUM_TOKEN environment variable, which ps does not show)."
    )
    var token: String?

    @Option(help: "Exit after this many updates (snapshot lines not counted).")
    var count: Int?

    @Argument(help: "Channel paths or patterns, e.g. /plant/line1/** or /plant/*/chiller-1/supply_temp.")
    var patterns: [String]

    func validate() throws {
        do {
            _ = try ChannelWatcher.address(of: url)
        } catch {
            throw ValidationError("\(error)")
        }
        for pattern in patterns {
            do {
                _ = try ChannelPattern(pattern)
            } catch {
                throw ValidationError("'\(pattern)' is not a valid channel path or pattern: \(error)")
            }
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let outcome = Mutex<Int32>(0)
        let updates = Mutex(0)
        let limit = count
        do {
            let token = self.token ?? ProcessInfo.processInfo.environment["PLENUM_TOKEN"]
            let patterns = patterns.map { try! ChannelPattern($0) }
            try await ChannelWatcher().watch(url: url, token: token, patterns: patterns) { event in
                switch event {
                case .value(let channel, let version, let value, let age, let fromSnapshot):
                    let line = "\(channel)  v\(version)  \(value.jsonString)  (age \(age / 1000) ms)\n"
                    printOutput(line)
                    if fromSnapshot { return true }
                    let seen = updates.withLock { n in
                        n += 1
                        return n
                    }
                    return limit.map { seen < $0 } ?? true
                case .refused(let code, let message):
                    printError("plenum watch: the hub refused the subscription (\(code)): \(message)")
                    outcome.withLock { $0 = 2 }
                    return false
                case .closed(let code):
                    let finished = limit.map { n in updates.withLock { $0 } >= n } ?? false
                    if !finished && code != 1000 && outcome.withLock({ $0 }) == 0 {
                        printError(
                            "plenum watch: the hub closed the connection (code \(code.map(String.init) ?? "none"))"
                        )
                        outcome.withLock { $0 = 1 }
                    }
                    return false
                }
            }
        } catch {
            printError("plenum watch: \(error)")
            throw ExitCode(1)
        }
        let status = outcome.withLock { $0 }
        if status != 0 { throw ExitCode(status) }
    }
}
