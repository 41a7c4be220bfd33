import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// `server.tls` against the built binary: the test's own CA (made here with `openssl`), Python
/// `websockets` over `wss://`, `curl` over https, rude clients, and a certificate replaced on
/// SIGHUP.
@Suite(.serialized) struct TLSTests {
    /// A throw-away CA and a certificate for 127.0.0.1 signed by it, in `directory`.
    struct Certificates {
        let directory: String
        var ca: String { directory + "/ca.crt" }

        init() throws {
            directory = NSTemporaryDirectory() + "plenum-tls-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Plenum Test CA",
            ])
            try issue("hub")
        }

        /// Signs a new certificate for 127.0.0.1 as `<name>.crt` / `<name>.key`.
        func issue(_ name: String) throws {
            try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                .write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
            try openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                "\(name).key", "-out", "\(name).csr", "-subj", "/CN=127.0.0.1",
            ])
            try openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "\(name).crt", "-days", "2", "-extfile", "ext.cnf",
            ])
        }

        private func openssl(_ arguments: [String]) throws {
            let result = try ChildProcess.run("/usr/bin/openssl", arguments, in: directory, timeout: 30)
            guard result.status == 0 else {
                throw ChildProcessFailure(description: "openssl \(arguments.joined(separator: " ")): \(result.stderr)")
            }
        }
    }

    @Test func wssAndHttpsWorkAndTheCertificateReloadsOnSIGHUP() async throws {
        let certificates = try await offPool { try Certificates() }
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let tls = "tls: {cert: \(certificates.directory)/hub.crt, key: \(certificates.directory)/hub.key}"
        let hub = try await SecuredHub.start(server: tls)
        defer { hub.stop() }
        #expect(hub.hub.text.contains("listening on https://127.0.0.1:"))
        let line1 = SecuredHub.secrets["line1"]!
        try await hub.waitForChannel("/plant/line1/a", token: line1, ca: certificates.ca)

        let first = try await hub.client("tls_session", [certificates.ca, line1])
        #expect(first["welcome"] == .string("welcome"))
        #expect(first["rest"] == .integer(200))
        #expect((first["updates"]?.numberValue ?? 0) > 5)
        #expect(first["channels"]!.strings.allSatisfy { $0.hasPrefix("/plant/line1/") })
        let https = try await hub.curl(
            "/api/channels/plant/line1/a",
            token: line1,
            extra: ["--cacert", certificates.ca]
        )
        #expect(https.status == 200)

        // A new certificate in place of the old, then SIGHUP: new connections get it.
        try await offPool { try certificates.issue("next") }
        for ext in ["crt", "key"] {
            try FileManager.default.removeItem(atPath: "\(certificates.directory)/hub.\(ext)")
            try FileManager.default.copyItem(
                atPath: "\(certificates.directory)/next.\(ext)",
                toPath: "\(certificates.directory)/hub.\(ext)"
            )
        }
        try await hub.reload(tokens: SecuredHub.standardTokens, server: tls)
        let second = try await hub.client("tls_session", [certificates.ca, line1])
        #expect(second["welcome"] == .string("welcome"))
        #expect(second["fingerprint"] != first["fingerprint"])
        #expect(!hub.hub.text.contains("error"), "\(hub.hub.text)")
    }

    /// Clients that drop the TCP connection without close_notify (after the handshake, mid
    /// request, mid WebSocket): the hub serves on and logs nothing per connection.
    @Test func clientsLeavingWithoutCloseNotifyAreNotAnError() async throws {
        let certificates = try await offPool { try Certificates() }
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let hub = try await SecuredHub.start(
            server: "tls: {cert: \(certificates.directory)/hub.crt, key: \(certificates.directory)/hub.key}"
        )
        defer { hub.stop() }
        let before = hub.hub.text.split(separator: "\n").count
        let result = try await hub.client("tls_rude_clients", [certificates.ca, "60"])
        #expect(result["after"] == .integer(200))
        try await Task.sleep(for: .milliseconds(300))
        let newLines = hub.hub.text.split(separator: "\n").dropFirst(before)
        #expect(newLines.filter { $0.contains("error") || $0.contains("warning") }.isEmpty, "\(newLines)")
        #expect(hub.hub.waitForExit(timeout: 0.1) == nil, "the hub is still running")
    }

    @Test func aCertificateThatCannotBeUsedStopsTheStartWithTheReason() async throws {
        let certificates = try await offPool { try Certificates() }
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let yaml =
            "server:\n  port: 0\n  tls: {cert: \(certificates.directory)/ext.cnf, key: \(certificates.directory)/hub.key}\ndevices: []\n"
        try yaml.write(toFile: certificates.directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let result = try await runPlenum(["run", "--config", certificates.directory + "/hub.yaml"], timeout: 20)
        #expect(result.status != 0)
        #expect(result.stderr.contains("TLS:"), "\(result.stderr)")
    }
}
