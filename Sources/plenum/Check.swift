import ArgumentParser
import PlenumApp
import PlenumConfig

/// `plenum check`: validate hub.yaml and compile its scripts without starting anything.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate hub.yaml and compile every script it names (without running them): print a summary "
            + "and exit 0, or print every problem and exit 1."
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String = "hub.yaml"

    func run() throws {
        let hub: HubConfig
        do {
            hub = try ConfigLoader.load(path: config)
        } catch {
            printError(error.description)
            printError("\(error.diagnostics.count) problem\(error.diagnostics.count == 1 ? "" : "s") in \(config)")
            throw ExitCode(1)
        }
        let problems = ScriptCheck.compileAll(hub, configFile: config)
        guard problems.isEmpty else {
            for problem in problems { printError(problem.description) }
            let count = problems.count
            let scripts = count == 1 ? "1 script named in \(config) does" : "\(count) scripts named in \(config) do"
            printError("\(scripts) not compile")
            throw ExitCode(1)
        }
        print(ConfigSummary.render(hub, file: config))
    }
}
