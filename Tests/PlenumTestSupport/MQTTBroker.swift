import Foundation
import PlenumCore

/// A real mosquitto broker (Debian's `mosquitto`) on a free loopback port, with a generated
/// configuration; stopped with SIGKILL. `kill()` and `restart()` make outages on the same port.
public final class MQTTBroker: @unchecked Sendable {
    // Safe: used from the test's own thread only.
    public let port: Int
    public let directory: String
    private let configPath: String
    private var process: RunningProcess?

    public static let executable = "/usr/sbin/mosquitto"

    /// TLS material made with openssl for one test: a CA, the broker's certificate for
    /// 127.0.0.1 and a client certificate, all signed by that CA.
    public struct TLSFiles: Sendable {
        public let ca: String
        public let serverCert: String
        public let serverKey: String
        public let clientCert: String
        public let clientKey: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - tls: serve TLS only, and require a client certificate signed by its CA.
    ///   - users: username → password; when given, only these may connect (`allow_anonymous
    ///     false` and a password file made with `mosquitto_passwd`).
    public init(tls: TLSFiles? = nil, users: [String: String] = [:], start: Bool = true) throws {
        port = try freeLoopbackPort()
        directory = NSTemporaryDirectory() + "plenum-mqtt-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/mosquitto.conf"
        var lines = [
            "listener \(port) 127.0.0.1",
            "allow_anonymous \(users.isEmpty)",
            "persistence false",
            // Every retained message reaches a late wildcard subscriber (the default caps the
            // queue at 1000, which would cut a snapshot of many channels short).
            "max_queued_messages 0",
            "max_inflight_messages 0",
        ]
        if !users.isEmpty {
            let passwords = directory + "/passwords"
            for (index, (user, password)) in users.sorted(by: { $0.key < $1.key }).enumerated() {
                let create = index == 0 ? ["-c"] : []
                let result = try ChildProcess.run(
                    "/usr/bin/mosquitto_passwd",
                    create + ["-b", passwords, user, password],
                    timeout: 30
                )
                guard result.status == 0 else {
                    throw Failure(description: "mosquitto_passwd failed:\n\(result.stderr)")
                }
            }
            // mosquitto started as root drops to the `mosquitto` user, which must read it.
            chmod(passwords, 0o644)
            lines.append("password_file \(passwords)")
        }
        if let tls {
            lines += [
                "cafile \(tls.ca)", "certfile \(tls.serverCert)", "keyfile \(tls.serverKey)",
                "require_certificate true",
            ]
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        if start { try self.start() }
    }

    deinit {
        process?.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts the broker (again, on the same port) and waits until it accepts connections.
    public func start() throws {
        let deadline = Date().addingTimeInterval(15)
        while true {
            let process = try RunningProcess(Self.executable, ["-c", configPath])
            self.process = process
            if process.waitFor(#"mosquitto version [^ ]+ running"#, timeout: 5) != nil { return }
            process.kill()
            // The port may still be held by the killed broker for a moment.
            if Date() > deadline { throw Failure(description: "mosquitto did not start:\n\(process.text)") }
            usleep(200_000)
        }
    }

    /// SIGKILL: the broker vanishes (with everything it retained: persistence is off).
    public func kill() {
        process?.kill()
        process = nil
    }

    public var log: String { process?.text ?? "" }

    /// Makes a CA, a server certificate for 127.0.0.1 and a client certificate in `directory`.
    public static func makeTLSFiles(in directory: String) throws -> TLSFiles {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory + "/" + name }
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Plenum Test CA",
                "-keyout", path("ca.key"), "-out", path("ca.pem"),
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", path("server.key"), "-out",
                path("server.csr"),
            ],
            [
                "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", path("server.ext"), "-out", path("server.pem"),
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=plenum-hub", "-keyout", path("client.key"),
                "-out", path("client.csr"),
            ],
            [
                "x509", "-req", "-in", path("client.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-days", "2", "-out", path("client.pem"),
            ],
        ]
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        for arguments in steps {
            let result = try ChildProcess.run("/usr/bin/openssl", arguments, timeout: 60)
            guard result.status == 0 else {
                throw Failure(description: "openssl \(arguments[0]) failed:\n\(result.stderr)")
            }
        }
        // mosquitto started as root drops to the `mosquitto` user, which must read them too.
        for name in ["ca.pem", "server.pem", "server.key", "client.pem", "client.key"] {
            chmod(path(name), 0o644)
        }
        return TLSFiles(
            ca: path("ca.pem"),
            serverCert: path("server.pem"),
            serverKey: path("server.key"),
            clientCert: path("client.pem"),
            clientKey: path("client.key")
        )
    }
}

/// The paho-mqtt subscriber and publisher in `Tests/Clients/mqttclient.py`.
public enum MQTTClient {
    /// Runs `mqttclient.py <arguments>` (bounded); returns what it printed, parsed.
    public static func run(_ arguments: [String], timeout: Double = 60) throws -> JSONValue {
        let script = PythonClient.repositoryRoot + "/Tests/Clients/mqttclient.py"
        let result = try ChildProcess.run(PythonClient.python, [script] + arguments, timeout: timeout)
        guard result.status == 0, !result.timedOut else {
            throw PythonClient.Failure(
                description: "mqttclient \(arguments.first ?? "") failed (status \(result.status), timed out: "
                    + "\(result.timedOut)):\n\(result.stderr)"
            )
        }
        do {
            return try JSONParser.parse(result.stdout)
        } catch {
            throw PythonClient.Failure(description: "mqttclient printed no JSON: \(result.stdout)\n\(result.stderr)")
        }
    }

    /// The retained messages under `filters`: subscribes, and stops once nothing new arrived
    /// for `settle` seconds (or after `seconds`). Topic → payload text.
    public static func retained(
        port: Int,
        _ filters: [String],
        settle: Double = 0.7,
        seconds: Double = 10,
        tls: [String] = [],
        auth: (user: String, password: String)? = nil
    ) throws -> [String: String] {
        let result = try run(
            ["watch", String(port)] + filters + ["--seconds", String(seconds), "--settle", String(settle)]
                + (tls.isEmpty ? [] : ["--tls"] + tls) + (auth.map { ["--auth", $0.user, $0.password] } ?? [])
        )
        guard case .object(let latest)? = result["latest"] else { return [:] }
        var out: [String: String] = [:]
        for (topic, message) in latest where message["retain"] == .bool(true) {
            out[topic] = message["payload"]?.stringValue
        }
        return out
    }
}
