import ArgumentParser
import FoundationEssentials
import PlenumClient
import PlenumCore

/// `plenum history`: print a channel's stored history from a running hub.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a channel's history (trends) from a running hub.",
        discussion: """
            Asks GET /api/history/PATH (docs/protocol.md, "History"). Times are UTC. Exit status: 0 \
            with the answer, 1 when the hub cannot be reached or fails, 2 when it refuses the query \
            (unknown channel, trends off, bad range or step, too many points).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Argument(help: "The channel, e.g. /plant/line1/chiller-1/supply_temp.")
    var path: String

    @Option(help: "How far back from now: 90m, 2h, 7d (default 1h). Or use --from.")
    var since: String?

    @Option(help: "Start: ISO-8601 (2025-03-01T14:00:00Z), µs since the Unix epoch, or -2h.")
    var from: String?

    @Option(help: "End (default now), as --from.")
    var to: String?

    @Option(help: "auto (default), raw, or aggregates per 1m, 5m, 1h, 1d …")
    var step: String?

    @Option(help: "The hub's address (http:// or ws://).")
    var url = "http://127.0.0.1:8080"

    @Option(help: "table (default), csv, or json (the API's answer as is).")
    var format: Format = .table

    @Option(
        help:
            "An access token for a hub with auth: (better: the PLENUM_TOKEN environment variable, which ps does not show)."
    )
    var token: String?

    func validate() throws {
        do {
            _ = try ChannelPath(path)
        } catch {
            throw ValidationError("'\(path)' is not a valid channel path: \(error)")
        }
        if since != nil && from != nil { throw ValidationError("give --since or --from, not both") }
        if let since, since.hasPrefix("-") || !(since.last?.isLetter ?? false) {
            throw ValidationError("--since takes a duration such as 90m, 2h or 7d")
        }
        do {
            _ = try HistoryClient.address(of: url)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        var parameters: [(String, String)] = []
        if let since { parameters.append(("from", "-" + since)) }
        if let from { parameters.append(("from", from)) }
        if let to { parameters.append(("to", to)) }
        if let step { parameters.append(("step", step)) }
        let response: HistoryClient.Response
        do {
            response = try await HistoryClient().get(
                url: url,
                channel: try ChannelPath(path),
                parameters: parameters,
                accept: format == .csv ? "text/csv" : "application/json",
                token: token ?? ProcessInfo.processInfo.environment["PLENUM_TOKEN"]
            )
        } catch {
            printError("plenum history: \(error)")
            throw ExitCode(1)
        }
        guard response.status == 200 else {
            let message = response.errorMessage ?? String(decoding: response.body, as: UTF8.self)
            printError("plenum history: the hub answered \(response.status): \(message)")
            throw ExitCode(response.status >= 500 ? 1 : 2)
        }
        switch format {
        case .csv, .json:
            var text = String(decoding: response.body, as: UTF8.self)
            if !text.hasSuffix("\n") { text += "\n" }
            printOutput(text)
        case .table:
            guard let table = HistoryTable.render(response.body) else {
                printError("plenum history: the hub's answer is not a history")
                throw ExitCode(1)
            }
            printOutput(table)
        }
    }
}
