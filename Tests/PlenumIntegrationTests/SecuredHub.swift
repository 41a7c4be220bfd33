import Foundation
import PlenumCore
import PlenumTestSupport

/// `plenum run` on a hub.yaml with an `auth:` section (tokens made here, their hashes in the
/// file) and the fixtures' `two_lines` device: /plant/line1/a, /plant/line2/b, and new
/// /plant/line{1,2}/gen/N channels every half second.
final class SecuredHub: Sendable {
    /// Token name → secret, for every token a test may use (also ones not in the file).
    static let secrets: [String: String] = {
        var out: [String: String] = [:]
        for name in ["all", "line1", "status", "metrics", "spare"] { out[name] = try! TokenSecret.generate() }
        return out
    }()

    /// Grants as YAML flow lines, by token name.
    static let standardTokens: [String: String] = [
        "all": "read: [/**]",
        "line1": "read: [/plant/line1/**]",
        "status": "read: [/plenum/devices/*/status]",
        "metrics": "read: []\n      metrics: true",
    ]

    let directory: String
    let hub: RunningProcess
    let port: Int

    /// Starts a hub (the blocking waits on a thread of their own, not the concurrency pool).
    static func start(
        tokens: [String: String] = standardTokens,
        server: String = "",
        auth: String = "",
        devices: String = ""
    ) async throws -> SecuredHub {
        try await offPool { try SecuredHub(tokens: tokens, server: server, auth: auth, devices: devices) }
    }

    /// `tokens`: name → grant lines; `server`/`auth`: extra lines for those sections; `devices`:
    /// more device entries (YAML list items).
    private init(tokens: [String: String], server: String, auth: String, devices: String) throws {
        directory = NSTemporaryDirectory() + "plenum-auth-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try (Self.yaml(tokens: tokens, server: server, auth: auth) + devices)
            .write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        hub = try RunningProcess(PlenumBinary.path, ["run", "--config", directory + "/hub.yaml"], in: directory)
        guard let port = hub.waitForPort() else {
            hub.kill()
            throw ChildProcessFailure(description: "the hub did not start:\n\(hub.text)")
        }
        self.port = port
        _ = hub.waitFor("hub started")
    }

    deinit { stop() }

    /// Kills the hub (SIGKILL: children of `swift test` have SIGTERM blocked) and removes its
    /// directory. Tests call it in a `defer` as well, so no hub outlives its test.
    func stop() {
        hub.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func yaml(tokens: [String: String], server: String = "", auth: String = "") -> String {
        var text = "server:\n  host: 127.0.0.1\n  port: 0\n  tick_ms: 10\n"
        for line in server.split(separator: "\n") { text += "  \(line)\n" }
        text += "channels:\n  history: 4000\nauth:\n"
        for line in auth.split(separator: "\n") { text += "  \(line)\n" }
        text += "  tokens:\n"
        for (name, grant) in tokens.sorted(by: { $0.key < $1.key }) {
            text += "    - name: \(name)\n      hash: \(TokenHash(hashing: secrets[name]!))\n      \(grant)\n"
        }
        text += """
            devices:
              - name: lines
                script: \(PlenumBinary.fixtures)/plugins/two_lines.lua
                prefix: /plant

            """
        return text
    }

    /// Rewrites hub.yaml with these tokens and sends SIGHUP (creating `marker` just before it);
    /// returns once the hub applied it.
    func reload(
        tokens: [String: String],
        server: String = "",
        auth: String = "",
        marker: String? = nil
    ) async throws {
        try await offPool { try self.reloadBlocking(tokens: tokens, server: server, auth: auth, marker: marker) }
    }

    private func reloadBlocking(tokens: [String: String], server: String, auth: String, marker: String?) throws {
        let before = hub.text.components(separatedBy: "access reloaded").count
        try Self.yaml(tokens: tokens, server: server, auth: auth)
            .write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        if let marker { _ = FileManager.default.createFile(atPath: marker, contents: nil) }
        hub.signal(SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while hub.text.components(separatedBy: "access reloaded").count == before && Date() < deadline {
            usleep(10_000)
        }
    }

    /// `curl` as an operator would: the status and the body.
    func curl(_ path: String, token: String? = nil, extra: [String] = []) async throws -> (status: Int, body: String) {
        try await offPool { try self.curlBlocking(path, token: token, extra: extra) }
    }

    private func curlBlocking(_ path: String, token: String?, extra: [String]) throws -> (status: Int, body: String) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10"] + extra
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        let scheme = extra.contains("--cacert") ? "https" : "http"
        arguments.append("\(scheme)://127.0.0.1:\(port)\(path)")
        let result = try ChildProcess.run("/usr/bin/curl", arguments, timeout: 20)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// Waits (bounded) until `token` reads `channel` over REST: the device has published it.
    func waitForChannel(_ channel: String, token: String, ca: String? = nil) async throws {
        let deadline = Date().addingTimeInterval(20)
        let extra = ca.map { ["--cacert", $0] } ?? []
        while try await curl("/api/channels" + channel, token: token, extra: extra).status != 200 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A scenario of Tests/Clients/authclient.py against this hub.
    func client(_ scenario: String, _ arguments: [String], timeout: Double = 60) async throws -> JSONValue {
        let port = self.port
        return try await offPool {
            try PythonClient.run(scenario, port: port, arguments, timeout: timeout, client: "authclient.py")
        }
    }
}

/// `plenum <arguments>` to completion, on a thread of its own.
func runPlenum(
    _ arguments: [String],
    in directory: String = PlenumBinary.fixtures,
    timeout: Double = 30
) async throws -> ChildProcess.Result {
    try await offPool { try PlenumBinary.run(arguments, in: directory, timeout: timeout) }
}

/// Waits (bounded) for `pattern` in a running process's output, on a thread of its own.
func waitFor(_ process: RunningProcess, _ pattern: String) async -> String? {
    (try? await offPool { process.waitFor(pattern) }) ?? nil
}

extension JSONValue {
    var arrayValue: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    var strings: [String] { arrayValue.compactMap(\.stringValue) }
}
