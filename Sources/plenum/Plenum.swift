import ArgumentParser

@main
struct Plenum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plenum: an edge hub that runs Lua device scripts and pushes their readings to WebSocket clients.",
        subcommands: [Run.self, Check.self, Watch.self, History.self, Token.self]
    )
}
