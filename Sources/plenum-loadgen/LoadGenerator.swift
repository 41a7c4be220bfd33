import ArgumentParser

/// `plenum-loadgen`: WebSocket clients for Plenum on raw sockets read by epoll threads —
/// `measure` (the default) for the benchmarks (`make bench`), `soak` for the soak test
/// (`make soak`).
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum-loadgen",
        abstract: "WebSocket load generator for Plenum benchmarks and the soak test.",
        subcommands: [Measure.self, Soak.self],
        defaultSubcommand: Measure.self
    )
}
