import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// The client examples of docs/protocol.md (and the README's `python3 -m websockets`), taken
/// from the markdown when the test runs and run as written — only the port changed from 8080
/// to the test hub's — against the shipped plant (the quick start's hub) on the built `plenum`.
/// A doc edit that breaks an example breaks its test.
@Suite(.serialized) struct DocumentedExamplesTests {
    /// The shipped plant on a free port; waits until chiller 2's setpoint is published (its
    /// device is running and takes writes).
    private func startPlant() async throws -> (plant: String, hub: RunningProcess, port: Int) {
        let plant = try RunCommandTests.shippedPlant()
        let hub = try RunCommandTests.runHub(in: plant.directory)
        let port = try #require(hub.waitForPort(), "the hub did not start: \(hub.text)")
        let up = await eventually {
            HTTP.get(port: port, "/api/channels/plant/line2/chiller-2/setpoint")?.status == 200
        }
        #expect(up, "chiller 2 never published its setpoint")
        return (plant.directory, hub, port)
    }

    /// The example under `heading`, with its port set to `port`, written to `directory`.
    private func example(
        _ language: String,
        under heading: String,
        port: Int,
        in directory: String,
        as name: String
    ) throws -> String {
        let blocks = try DocumentedCode.blocks(language, in: "docs/protocol.md").filter { $0.heading == heading }
        let code = try #require(blocks.count == 1 ? blocks[0].code : nil, "one \(language) block under '\(heading)'")
        #expect(code.components(separatedBy: ":8080").count == 2, "the example connects to port 8080 once")
        let path = directory + "/" + name
        try code.replacingOccurrences(of: ":8080", with: ":\(port)").write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        return path
    }

    /// "### Python" follows every unit's supply temperature (it runs until stopped);
    /// "### Python: changing a setpoint" writes chiller 2's setpoint and prints the `written`;
    /// README: `python3 -m websockets ws://localhost:8080/ws/plant/line2/**` shows the
    /// `welcome`, the `subscribed`, the `snapshot`, then `update`s.
    @Test func thePythonExamplesRunAsWritten() async throws {
        let (directory, hub, port) = try await startPlant()
        defer {
            hub.kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let follow = try example("python", under: "### Python", port: port, in: directory, as: "follow.py")
        let client = try RunningProcess(PythonClient.python, ["-u", follow])
        defer { client.kill() }
        for unit in ["line1/chiller-1", "line1/ahu-1", "line2/chiller-2", "line2/ahu-2"] {
            let line = client.waitFor(#"(?m)^/plant/\#(unit)/supply_temp (\d+) -?\d"#, timeout: 20)
            #expect(line != nil, "no update of \(unit)'s supply_temp: \(client.text)")
        }
        client.kill()
        #expect(!client.text.contains("Traceback"), "\(client.text)")

        let setpoint = try example(
            "python",
            under: "### Python: changing a setpoint",
            port: port,
            in: directory,
            as: "setpoint.py"
        )
        let written = try await offPool { try ChildProcess.run(PythonClient.python, [setpoint], timeout: 30) }
        #expect(written.status == 0, "\(written.stdout)\(written.stderr)")
        #expect(
            written.stdout.contains("'type': 'written'") && written.stdout.contains("'ok': True"),
            "\(written.stdout)"
        )
        #expect(written.stdout.contains("'channel': '/plant/line2/chiller-2/setpoint'"))
        let applied = await eventually {
            guard let body = HTTP.get(port: port, "/api/channels/plant/line2/chiller-2/setpoint")?.body else {
                return false
            }
            return (try? JSONParser.parse(body))?["value"]?.numberValue == 7.5
        }
        #expect(applied, "the setpoint did not become 7.5")

        let readme = try String(contentsOfFile: PythonClient.repositoryRoot + "/README.md", encoding: .utf8)
        let command = "python3 -m websockets ws://localhost:8080/ws/plant/line2/**"
        #expect(readme.contains("`\(command)`"))
        // Its stdin held open, as at a terminal (at end of input it closes the connection).
        let kinds = ["welcome", "subscribed", "snapshot", "update"].map { #""type":"\#($0)""# }
        let shown = try await offPool {
            try Self.interactive(["-m", "websockets", "ws://localhost:\(port)/ws/plant/line2/**"]) { text in
                text.contains(kinds[3])
            }
        }
        let positions = kinds.map { shown.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil }, "\(shown)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted(), "\(shown)")
        #expect(shown.contains(#""channel":"/plant/line2/chiller-2/supply_temp""#), "\(shown)")
    }

    /// Runs `python ARGUMENTS` with its stdin an open pipe until `done` holds for its output
    /// (stdout and stderr) or 20 s have passed; kills it; returns the output.
    private static func interactive(_ arguments: [String], until done: (String) -> Bool) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PythonClient.python)
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let fd = output.fileHandleForReading.fileDescriptor
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !done(text) {
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            text += String(decoding: buffer[..<n], as: UTF8.self)
        }
        withExtendedLifetime(input) {}
        return text
    }

    /// "## Reconnecting without losing anything": the client that keeps the epoch and its
    /// positions, across a clean restart of the hub (the shipped plant has trends on, so the
    /// epoch and the versions continue): every channel's versions it prints go up one at a time,
    /// before and after the restart, with nothing lost and nothing twice.
    @Test func theResumingClientExampleLosesNothingAcrossARestart() async throws {
        var (directory, hub, port) = try await startPlant()
        defer {
            hub.kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let path = try example(
            "python",
            under: "## Reconnecting without losing anything",
            port: port,
            in: directory,
            as: "resume.py"
        )
        let client = try RunningProcess(PythonClient.python, ["-u", path])
        defer { client.kill() }
        let channel = "/plant/line2/chiller-2/supply_temp"
        let pattern = #"(?m)^\#(channel) (\d+) "#
        #expect(client.waitFor(pattern, timeout: 20) != nil, "\(client.text)")
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0, "\(hub.text)")
        let printedBefore = Self.versions(of: channel, in: client.text)
        hub = try RunningProcess(
            PlenumBinary.path,
            ["run", "--config", "hub.yaml", "--port", String(port)],
            in: directory
        )
        #expect(hub.waitForPort() == port, "\(hub.text)")
        let last = printedBefore.last ?? 0
        let continued = await eventually { (Self.versions(of: channel, in: client.text).last ?? 0) >= last + 3 }
        #expect(continued, "\(client.text)")
        client.kill()
        let printed = Self.versions(of: channel, in: client.text)
        #expect(printed.count >= 4)
        #expect(zip(printed, printed.dropFirst()).allSatisfy { $1 == $0 + 1 }, "\(printed)")
        #expect(!client.text.contains("Traceback"), "\(client.text)")
    }

    /// "### Browser": the page in headless Chromium shows the plant's channels and follows them.
    @Test(
        .enabled(
            if: DashboardBrowser.chromiumInstalled,
            "chromium is not installed (/usr/bin/chromium): `make test` installs it; or apt-get install chromium"
        )
    )
    func theBrowserExampleShowsLiveValues() async throws {
        let (directory, hub, port) = try await startPlant()
        defer {
            hub.kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let page = try example("html", under: "### Browser", port: port, in: directory, as: "example.html")
        let script = PythonClient.repositoryRoot + "/Tests/Browser/example_page.py"
        let channel = "/plant/line1/chiller-1/supply_temp"
        let result = try await offPool {
            try ChildProcess.run(PythonClient.python, [script, page, String(port), channel], timeout: 90)
        }
        #expect(result.status == 0 && !result.timedOut, "\(result.stderr)")
        let seen = try JSONParser.parse(result.stdout)
        #expect(seen["title"] == .string("Plenum live values"))
        #expect(seen["timeout"] == nil, "\(seen)")
        let first = seen["first"]?["version"]?.stringValue ?? ""
        let later = seen["later"]?["version"]?.stringValue ?? ""
        #expect(first.hasPrefix("v") && later.hasPrefix("v"), "\(seen)")
        #expect((Int(later.dropFirst()) ?? 0) > (Int(first.dropFirst()) ?? .max), "\(seen)")
        #expect(Double(seen["later"]?["value"]?.stringValue ?? "") != nil, "\(seen)")
        #expect((seen["rows"]?.numberValue ?? 0) >= 40, "\(seen)")
        #expect(seen["errors"] == .array([]))
    }

    /// The versions of `channel` in lines `CHANNEL VERSION VALUE`, in the order printed.
    private static func versions(of channel: String, in text: String) -> [Int] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 3, fields[0] == channel else { return nil }
            return Int(fields[1])
        }
    }
}

/// Polls `condition` (bounded) without holding a thread of the concurrency pool.
private func eventually(timeout: Double = 20, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// Fenced code blocks of the repository's markdown, as the docs show them.
enum DocumentedCode {
    struct Block {
        /// The nearest heading above the block (`### Python`).
        var heading: String
        var code: String
    }

    /// The blocks fenced as ```` ```language ```` in `file` (relative to the repository).
    static func blocks(_ language: String, in file: String) throws -> [Block] {
        let text = try String(contentsOfFile: PythonClient.repositoryRoot + "/" + file, encoding: .utf8)
        var blocks: [Block] = []
        var heading = ""
        var current: [Substring]?
        var currentLanguage = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if var lines = current {
                if line.hasPrefix("```") {
                    if currentLanguage == language {
                        blocks.append(Block(heading: heading, code: lines.joined(separator: "\n") + "\n"))
                    }
                    current = nil
                } else {
                    lines.append(line)
                    current = lines
                }
            } else if line.hasPrefix("```") {
                currentLanguage = String(line.dropFirst(3))
                current = []
            } else if line.hasPrefix("#") {
                heading = String(line)
            }
        }
        return blocks
    }
}
