import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// The MQTT bridge of the built `plenum` binary against a real mosquitto broker, seen by an
/// independent paho-mqtt subscriber: topics and payloads, retained values for late subscribers,
/// birth and death, a broker outage, TLS with the test's own CA, and two hubs in one broker.
@Suite(.serialized) struct BridgeTests {
    /// A hub directory with the bridge plant script and `yaml` as hub.yaml.
    private func hubDirectory(_ yaml: String) throws -> HubDirectory {
        try HubDirectory(yaml: yaml, fixtures: ["bridge_plant.lua"])
    }

    /// Every channel's version and timestamp, from `GET /api/channels`.
    private func channels(_ hub: HubDirectory) -> [String: (version: Int64, ts: Int64)] {
        guard let body = HTTP.get(port: hub.port, "/api/channels")?.body,
            case .array(let items)? = (try? JSONParser.parse(body))?["channels"]
        else { return [:] }
        var out: [String: (Int64, Int64)] = [:]
        for item in items {
            if let path = item["channel"]?.stringValue, case .integer(let v)? = item["version"],
                case .integer(let ts)? = item["ts"]
            {
                out[path] = (v, ts)
            }
        }
        return out
    }

    /// The hub's resident memory, KiB.
    private func rssKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Retained payloads under `topicPrefix` parsed as JSON, by channel path.
    private func retainedChannels(
        _ broker: MQTTBroker,
        _ prefix: String,
        tls: [String] = []
    ) throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (topic, payload) in try MQTTClient.retained(port: broker.port, [prefix + "/#"], tls: tls) {
            guard topic.hasPrefix(prefix + "/"), let json = try? JSONParser.parse(payload) else { continue }
            out[String(topic.dropFirst(prefix.count))] = json
        }
        return out
    }

    private func eventually(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(200_000)
        }
        return try condition()
    }

    @Test func channelsArePublishedRetainedWithVersionsAndTheHubSaysOnlineThenOffline() async throws {
        let broker = try MQTTBroker()
        let hub = try hubDirectory(
            """
            site: plant-a
            server: { host: 127.0.0.1 }
            devices:
              - name: plant
                script: plugins/bridge_plant.lua
                prefix: /plant
                params: { channels: 5, period: 0.05, seconds: 1.5 }
            bridges:
              - name: central
                host: 127.0.0.1
                port: \(broker.port)
                include: ["/plant/**", "/plenum/bridges/**"]
                reconnect_max_s: 2

            """
        )
        // A live subscriber first: it sees updates as they happen (not retained).
        let ready = hub.path + "/subscribed"
        async let live = offPool {
            try MQTTClient.run(
                ["watch", String(broker.port), "plenum/plant-a/plant/#", "--seconds", "30", "--ready", ready]
                    + ["--until-topic", "plenum/plant-a/plant/done"] + ["--until-payload", "*"]
            )
        }
        #expect(await waitForFile(ready))
        _ = try #require(try hub.start())
        #expect(await hub.eventually(timeout: 30) { hub.value("/plant/done") != nil }, "\(hub.hub?.text ?? "")")
        let rounds = try #require(hub.value("/plant/done"))

        // A late subscriber gets the latest version of every channel at once, retained.
        let hubChannels = channels(hub)
        var retained: [String: JSONValue] = [:]
        #expect(
            try eventually(timeout: 15) {
                retained = try retainedChannels(broker, "plenum/plant-a")
                return (1...5).allSatisfy { retained["/plant/c\($0)"]?["value"] == rounds }
            },
            "\(retained)"
        )
        for k in 1...5 {
            let entry = try #require(retained["/plant/c\(k)"])
            let expected = try #require(hubChannels["/plant/c\(k)"])
            #expect(
                entry == .object(["version": .integer(expected.version), "ts": .integer(expected.ts), "value": rounds])
            )
        }
        let all = try MQTTClient.retained(port: broker.port, ["plenum/plant-a/$status"])
        #expect(all["plenum/plant-a/$status"] == "online")

        // The status channel and /metrics.
        let status = try #require(hub.value("/plenum/bridges/central/status"))
        #expect(status["state"] == .string("connected"))
        #expect(status["connected"] == .bool(true))
        #expect(status["broker"] == .string("127.0.0.1:\(broker.port)"))
        #expect(status["client_id"]?.stringValue?.hasPrefix("plenum-plant-a-central-") == true)
        #expect((status["sent"]?.numberValue ?? 0) >= 6)
        #expect(status["queued"] == .integer(0))
        let metrics = HTTP.get(port: hub.port, "/metrics")?.body ?? ""
        #expect(metrics.contains(#"plenum_bridge_connected{bridge="central"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"plenum_bridge_messages_sent_total{bridge="central"}"#))

        // SIGTERM: the last versions, then `offline`, retained; no will needed.
        hub.hub?.signal(SIGTERM)
        #expect(hub.hub?.waitForExit() == 0)
        let after = try MQTTClient.retained(port: broker.port, ["plenum/plant-a/#"])
        #expect(after["plenum/plant-a/$status"] == "offline")
        #expect(after["plenum/plant-a/plant/done"].flatMap { try? JSONParser.parse($0) }?["value"] == rounds)
        #expect(hub.hub?.text.contains("bridge stopped") == true)

        // Every live update carried the channel's payload; the subscriber saw many of them.
        let watched = try await live
        #expect((watched["count"]?.numberValue ?? 0) >= 5)
        guard case .object(let latest)? = watched["latest"] else { return }
        for (topic, message) in latest where topic.hasPrefix("plenum/plant-a/plant/c") {
            #expect(message["json"]?["version"] != nil && message["json"]?["ts"] != nil, "\(message)")
        }
    }

    @Test func aBrokerOutageLosesOnlySupersededVersionsWithBoundedMemoryAndSIGKILLLeavesTheWill() async throws {
        let broker = try MQTTBroker()
        let hub = try hubDirectory(
            """
            site: outage
            server: { host: 127.0.0.1 }
            channels: { history: 1 }
            devices:
              - name: plant
                script: plugins/bridge_plant.lua
                prefix: /plant
                params: { channels: 1000, period: 0.1, seconds: 16 }
            bridges:
              - name: central
                host: 127.0.0.1
                port: \(broker.port)
                include: ["/plant/**"]
                qos: 1
                reconnect_min_s: 1
                reconnect_max_s: 2

            """
        )
        _ = try #require(try hub.start())
        let pid = try #require(hub.hub?.pid)
        #expect(
            await hub.eventually(timeout: 30) {
                (hub.value("/plenum/bridges/central/status")?["sent"]?.numberValue ?? 0) >= 2000
            },
            "\(hub.hub?.text ?? "")"
        )
        let before = rssKiB(pid)

        // The broker is gone for 10 s while the plant keeps publishing.
        broker.kill()
        var peak = before
        var sawQueue = false
        let outageEnd = Date().addingTimeInterval(10)
        while Date() < outageEnd {
            peak = max(peak, rssKiB(pid))
            if let status = hub.value("/plenum/bridges/central/status"), status["connected"] == .bool(false),
                (status["queued"]?.numberValue ?? 0) > 0
            {
                sawQueue = true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(sawQueue)
        // Conflation: at most one pending version per channel, whatever the outage's length.
        #expect(peak - before < 16 * 1024, "RSS grew from \(before) to \(peak) KiB during the outage")
        try broker.start()

        // Within a few seconds of the plant's last round, every retained value is its latest.
        #expect(await hub.eventually(timeout: 30) { hub.value("/plant/done") != nil })
        var stale: [String] = []
        #expect(
            try eventually(timeout: 20) {
                let latest = channels(hub)
                let retained = try retainedChannels(broker, "plenum/outage")
                stale = (1...1000).map { "/plant/c\($0)" }.filter { path in
                    guard case .integer(let version)? = retained[path]?["version"] else { return true }
                    return version != latest[path]?.version
                }
                return stale.isEmpty
            },
            "\(stale.count) channels stale, e.g. \(stale.prefix(5))"
        )
        let status = try #require(hub.value("/plenum/bridges/central/status"))
        #expect(status["connected"] == .bool(true))
        #expect((status["conflated"]?.numberValue ?? 0) > 0)
        #expect((status["connects"]?.numberValue ?? 0) >= 2)

        // SIGKILL: no DISCONNECT, so the broker publishes the last will.
        hub.hub?.kill()
        var status2: [String: String] = [:]
        #expect(
            try eventually(timeout: 10) {
                status2 = try MQTTClient.retained(port: broker.port, ["plenum/outage/$status"])
                return status2["plenum/outage/$status"] == "offline"
            },
            "\(status2)"
        )
    }

    @Test func tlsWithTheTestsOwnCAAndAClientCertificate() async throws {
        let directory = NSTemporaryDirectory() + "plenum-tls-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try MQTTBroker.makeTLSFiles(in: directory)
        let broker = try MQTTBroker(tls: files)
        let hub = try hubDirectory(
            """
            site: secure
            server: { host: 127.0.0.1 }
            devices:
              - name: plant
                script: plugins/bridge_plant.lua
                prefix: /plant
                params: { channels: 3, period: 0.2, seconds: 1 }
            bridges:
              - name: central
                host: 127.0.0.1
                port: \(broker.port)
                tls: { ca: \(files.ca), cert: \(files.clientCert), key: \(files.clientKey) }
                include: ["/plant/**"]
                reconnect_max_s: 2
              - name: nocert
                host: 127.0.0.1
                port: \(broker.port)
                topic_prefix: plenum/secure-nocert
                tls: { ca: \(files.ca) }
                reconnect_max_s: 2

            """
        )
        _ = try #require(try hub.start())
        #expect(await hub.eventually(timeout: 30) { hub.value("/plant/done") != nil })
        let rounds = try #require(hub.value("/plant/done"))
        let tls = [files.ca, files.clientCert, files.clientKey]
        var retained: [String: JSONValue] = [:]
        #expect(
            try eventually(timeout: 15) {
                retained = try retainedChannels(broker, "plenum/secure", tls: tls)
                return retained["/plant/c3"]?["value"] == rounds
            },
            "\(retained)"
        )
        let online = try MQTTClient.retained(port: broker.port, ["plenum/secure/$status"], tls: tls)
        #expect(online["plenum/secure/$status"] == "online")
        // The broker demands a client certificate: the bridge without one never gets in, and
        // says so on its status channel.
        let refused = hub.value("/plenum/bridges/nocert/status")
        #expect(refused?["connected"] == .bool(false))
        #expect(refused?["state"] == .string("connecting"))
        #expect(refused?["last_error"]?.stringValue != nil, "\(String(describing: refused))")
        #expect(try MQTTClient.retained(port: broker.port, ["plenum/secure-nocert/#"], seconds: 2, tls: tls).isEmpty)
    }

    @Test func twoHubsStartedBeforeTheBrokerBothReachItAndOneSubscriberSeesBothPlants() async throws {
        let broker = try MQTTBroker(start: false)
        func yaml(_ site: String, _ seconds: Double) -> String {
            """
            site: \(site)
            server: { host: 127.0.0.1 }
            devices:
              - name: plant
                script: plugins/bridge_plant.lua
                prefix: /plant
                params: { channels: 4, period: 0.1, seconds: \(seconds) }
            bridges:
              - name: central
                host: 127.0.0.1
                port: \(broker.port)
                reconnect_min_s: 1
                reconnect_max_s: 2

            """
        }
        let a = try hubDirectory(yaml("plant-a", 4))
        let b = try hubDirectory(yaml("plant-b", 5))
        _ = try #require(try a.start())
        _ = try #require(try b.start())
        // Nothing to connect to yet: both bridges keep trying.
        #expect(
            await a.eventually(timeout: 10) {
                a.value("/plenum/bridges/central/status")?["last_error"]?.stringValue != nil
            }
        )
        try broker.start()
        #expect(await a.eventually(timeout: 30) { a.value("/plant/done") != nil && b.value("/plant/done") != nil })
        let idA = a.value("/plenum/bridges/central/status")?["client_id"]?.stringValue
        let idB = b.value("/plenum/bridges/central/status")?["client_id"]?.stringValue
        #expect(idA != nil && idA != idB)
        var seen: [String: String] = [:]
        #expect(
            try eventually(timeout: 20) {
                seen = try MQTTClient.retained(port: broker.port, ["plenum/+/plant/#", "plenum/+/$status"])
                return ["plant-a", "plant-b"].allSatisfy { site in
                    seen["plenum/\(site)/$status"] == "online"
                        && (1...4).allSatisfy { seen["plenum/\(site)/plant/c\($0)"] != nil }
                        && seen["plenum/\(site)/plant/done"] != nil
                }
            },
            "\(seen.keys.sorted())"
        )
        #expect(try JSONParser.parse(seen["plenum/plant-a/plant/done"] ?? "")["value"] == a.value("/plant/done"))
        #expect(try JSONParser.parse(seen["plenum/plant-b/plant/done"] ?? "")["value"] == b.value("/plant/done"))
    }

    @Test func setMessagesAreWritesUnderTheBridgesIdentityValidatedAllowedAndAudited() async throws {
        let broker = try MQTTBroker()
        let prefix = "plenum/dn/plant/dev"
        // A retained command left on the broker from before must never be executed.
        _ = try MQTTClient.run(["publish", String(broker.port), prefix + "/setpoint/set", "9", "--retain"])
        let hub = try HubDirectory(
            yaml: """
                site: dn
                server: { host: 127.0.0.1 }
                devices:
                  - name: dev
                    script: plugins/bridge_writable.lua
                    prefix: /plant/dev
                    writable:
                      - { channel: setpoint, type: number, min: 0, max: 10 }
                      - { channel: mode, type: enum, values: [auto, manual] }
                bridges:
                  - name: central
                    host: 127.0.0.1
                    port: \(broker.port)
                    include: ["/plant/**"]
                    reconnect_max_s: 2
                    downstream: { identity: mqtt-central, write: ["/plant/dev/setpoint"] }

                """,
            fixtures: ["bridge_writable.lua"]
        )
        _ = try #require(try hub.start())
        #expect(
            await hub.eventually(timeout: 30) {
                hub.value("/plenum/bridges/central/status")?["connected"] == .bool(true)
            },
            "\(hub.hub?.text ?? "")"
        )
        let ready = hub.path + "/subscribed"
        async let results = offPool {
            try MQTTClient.run(
                ["watch", String(broker.port), prefix + "/+/set/result", "--seconds", "30", "--count", "4"]
                    + ["--ready", ready]
            )
        }
        #expect(await waitForFile(ready))
        for (topic, payload) in [
            ("setpoint", #"{"value": 7, "id": "a"}"#), ("setpoint", "15"), ("mode", #""manual""#),
            ("setpoint", "not json"),
        ] {
            _ = try MQTTClient.run(["publish", String(broker.port), prefix + "/\(topic)/set", payload])
        }
        let watched = try await results
        guard case .array(let messages)? = watched["first"] else {
            Issue.record("no results: \(watched)")
            return
        }
        let answers = messages.compactMap { $0["payload"]?.stringValue.flatMap { try? JSONParser.parse($0) } }
        #expect(answers.count == 4, "\(messages)")
        #expect(
            answers.contains(
                .object(["channel": .string("/plant/dev/setpoint"), "ok": .bool(true), "id": .string("a")])
            )
        )
        #expect(
            answers.contains {
                $0["code"] == .string("out_of_range") && $0["channel"] == .string("/plant/dev/setpoint")
            }
        )
        #expect(answers.contains { $0["code"] == .string("forbidden") && $0["channel"] == .string("/plant/dev/mode") })
        #expect(answers.contains { $0["code"] == .string("invalid_json") })

        // Only the allowed, valid write reached the device; the stale retained one never did.
        #expect(
            await hub.eventually(timeout: 10) {
                hub.value("/plant/dev/setpoint") == .integer(7) || hub.value("/plant/dev/setpoint") == .double(7)
            }
        )
        #expect(hub.value("/plant/dev/mode") == .string("auto"))
        // Every attempt that reached the command path is audited under the bridge's identity.
        let audit = hub.value("/plenum/audit")
        #expect(audit?["who"] == .string("mqtt-central"))
        #expect(audit?["via"] == .string("mqtt"))
        let log = hub.hub?.text ?? ""
        for result in ["ok", "out_of_range", "forbidden"] {
            #expect(
                log.contains("write.result=\(result)") && log.contains("write.via=mqtt"),
                "\(result) not in the log:\n\(log)"
            )
        }
        #expect(
            await hub.eventually(timeout: 5) {
                hub.value("/plenum/bridges/central/status")?["writes"]?["forbidden"] == .integer(1)
            }
        )
    }

    /// A broker that admits only its users (`allow_anonymous false`, a `mosquitto_passwd` file):
    /// the bridge with the right password gets in; the one with a wrong password stays out and
    /// its status channel carries the broker's refusal; neither password is ever printed.
    @Test func usernameAndPasswordReachTheBrokerAndARefusalIsReported() async throws {
        let (right, wrong, reader) = ("right-\(UUID().uuidString)", "wrong-\(UUID().uuidString)", "reader-secret")
        let broker = try MQTTBroker(users: ["plant-a": right, "reader": reader])
        let hub = try hubDirectory(
            """
            site: creds
            server: { host: 127.0.0.1 }
            devices:
              - name: plant
                script: plugins/bridge_plant.lua
                prefix: /plant
                params: { channels: 3, period: 0.2, seconds: 1 }
            bridges:
              - name: central
                host: 127.0.0.1
                port: \(broker.port)
                username: plant-a
                password_file: right.pass
                include: ["/plant/**"]
                reconnect_max_s: 2
              - name: impostor
                host: 127.0.0.1
                port: \(broker.port)
                topic_prefix: plenum/creds-impostor
                username: plant-a
                password_file: wrong.pass
                include: ["/plant/**"]
                reconnect_max_s: 2

            """
        )
        try (right + "\n").write(toFile: hub.path + "/right.pass", atomically: true, encoding: .utf8)
        try (wrong + "\n").write(toFile: hub.path + "/wrong.pass", atomically: true, encoding: .utf8)
        _ = try #require(try hub.start())
        #expect(await hub.eventually(timeout: 30) { hub.value("/plant/done") != nil }, "\(hub.hub?.text ?? "")")
        let rounds = try #require(hub.value("/plant/done"))
        let auth = (user: "reader", password: reader)

        var retained: [String: String] = [:]
        #expect(
            try eventually(timeout: 15) {
                retained = try MQTTClient.retained(port: broker.port, ["plenum/creds/#"], auth: auth)
                return retained["plenum/creds/plant/done"].flatMap { try? JSONParser.parse($0) }?["value"] == rounds
            },
            "\(retained)"
        )
        #expect(retained["plenum/creds/$status"] == "online")
        #expect(hub.value("/plenum/bridges/central/status")?["connected"] == .bool(true))

        var refused: JSONValue?
        #expect(
            await hub.eventually(timeout: 10) {
                refused = hub.value("/plenum/bridges/impostor/status")
                return refused?["last_error"]?.stringValue?.contains("not authori") == true
            },
            "\(String(describing: refused))\n\(broker.log)"
        )
        #expect(refused?["connected"] == .bool(false))
        #expect(refused?["state"] == .string("connecting"))
        #expect(refused?["sent"] == .integer(0))
        #expect(
            try MQTTClient.retained(port: broker.port, ["plenum/creds-impostor/#"], seconds: 2, auth: auth).isEmpty
        )
        let output = hub.hub?.text ?? ""
        #expect(output.contains("the broker refused the connection"), "\(output)")
        #expect(!output.contains(right) && !output.contains(wrong))
    }
}
