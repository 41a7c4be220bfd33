import ArgumentParser
import PlenumApp
import PlenumConfig

/// `plenum check`: validate hub.yaml and its scripts without starting anything.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate hub.yaml: print a summary and exit 0, or print every problem and exit 1."
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String = "hub.yaml"

    func run() throws {
        do {
            let hub = try ConfigLoader.load(path: config)
            print(ConfigSummary.render(hub, file: config))
        } catch {
            printError(error.description)
            printError("\(error.diagnostics.count) problem\(error.diagnostics.count == 1 ? "" : "s") in \(config)")
            throw ExitCode(1)
        }
    }
}
