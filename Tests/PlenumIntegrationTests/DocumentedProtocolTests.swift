import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// What README.md and docs/protocol.md promise a client developer, checked against the built
/// `plenum run` (until now only against the server in the test process, which links full
/// Foundation where the binary has FoundationEssentials): subscribing by URL and by message, the
/// `error` codes, the close codes, channels that appear later, the HTTP endpoints, the 1001 on
/// SIGTERM and SIGINT, and `plenum watch`'s exit status when the hub refuses a subscription.
@Suite(.serialized) struct DocumentedProtocolTests {
    /// `/t/a` gets two versions (1, then `{"v": 2.5}`) and stays; `/t/b/c` counts every 50 ms.
    static let script = """
        hub.publish("a", 1)
        hub.publish("a", {v = 2.5})
        local n = 0
        while hub.sleep(0.05) do
            n = n + 1
            hub.publish("b/c", n)
        end
        """

    static func yaml(server: String = "") -> String {
        "server:\n  port: 0\n\(server)devices:\n  - name: t\n    script: plugins/t.lua\n    prefix: /t\n"
    }

    private func startHub(server: String = "") async throws -> HubDirectory {
        let directory = try HubDirectory(yaml: Self.yaml(server: server), scripts: ["t.lua": Self.script])
        _ = try #require(try directory.start(), "the hub did not start: \(directory.hub?.text ?? "")")
        #expect(await directory.eventually { directory.value("/t/b/c") != nil })
        return directory
    }

    /// README quick start and docs/protocol.md "Connecting and subscribing".
    @Test func aClientSubscribedByURLGetsWelcomeSubscribedSnapshotThenIncreasingVersions() async throws {
        let hub = try await startHub()
        #expect(hub.hub?.text.contains("(WebSocket: ws://127.0.0.1:\(hub.port)/ws/PATTERN)") == true)
        let port = hub.port
        let seen = try await offPool { try PythonClient.run("url_subscribe", port: port, ["/t/**"]) }
        #expect(
            seen["welcome"] == .array([.string("epoch"), .string("identity"), .string("tick_ms"), .string("type")])
        )
        #expect(seen["subscribed"] == .object(["type": .string("subscribed"), "channels": .array([.string("/t/**")])]))
        #expect(seen["snapshot_channels"] == .array([.string("/t/a"), .string("/t/b/c")]))
        #expect(
            seen["snapshot_fields"]
                == .array([.string("channel"), .string("ts"), .string("value"), .string("version")])
        )
        #expect(seen["updates"] == .integer(20))
        #expect(seen["update_channels"] == .array([.string("/t/b/c")]))
        #expect(seen["increasing"] == .bool(true))
        #expect(seen["ts_is_int"] == .bool(true))
    }

    @Test func subscribingAndUnsubscribingByMessageEchoTheIDAndStopTheUpdates() async throws {
        let hub = try await startHub()
        let port = hub.port
        let seen = try await offPool { try PythonClient.run("message_subscribe", port: port, ["/t/b/*", "/t/a"]) }
        #expect(
            seen["subscribed"]
                == .object([
                    "type": .string("subscribed"), "channels": .array([.string("/t/b/*"), .string("/t/a")]),
                    "id": .integer(7),
                ])
        )
        #expect(seen["snapshot_id"] == .integer(7))
        #expect(seen["snapshot_channels"] == .array([.string("/t/a"), .string("/t/b/c")]))
        #expect(seen["update_channels"] == .array([.string("/t/b/c")]))
        #expect(seen["unsubscribed"]?["type"] == .string("unsubscribed"))
        #expect(seen["updates_after_unsubscribe"] == .integer(0))
    }

    /// "Channels created later that match one of your patterns are pushed as they appear": a
    /// device added by a SIGHUP reload publishes a channel the client's pattern already covers.
    @Test func aChannelThatAppearsLaterReachesTheClientsPattern() async throws {
        let hub = try await startHub()
        let marker = NSTemporaryDirectory() + "plenum-marker-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let port = hub.port
        async let seen = offPool { try PythonClient.run("late_channel", port: port, ["/late/*/channel", marker]) }
        #expect(await waitForFile(marker))
        try hub.write("late.lua", "hub.publish(\"/late/new/channel\", \"hello\")\nhub.sleep(math.huge)\n")
        try (Self.yaml() + "  - name: late\n    script: plugins/late.lua\n    prefix: /late\n").write(
            toFile: hub.path + "/hub.yaml",
            atomically: true,
            encoding: .utf8
        )
        hub.hub?.signal(SIGHUP)
        let first = try await seen
        #expect(first["first_update"]?["channel"] == .string("/late/new/channel"))
        #expect(first["first_update"]?["version"] == .integer(1))
        #expect(first["first_update"]?["value"] == .string("hello"))
    }

    /// docs/protocol.md "Errors": each bad message gets its `code`; the connection stays usable.
    @Test func badMessagesGetTheDocumentedErrorCodes() async throws {
        let hub = try await startHub(server: "  max_subscriptions: 5\n")
        let port = hub.port
        let seen = try await offPool { try PythonClient.run("bad_input", port: port) }
        guard case .array(let answers)? = seen["answers"] else {
            Issue.record("no answers: \(seen)")
            return
        }
        let codes = answers.map { $0["code"]?.stringValue ?? $0["type"]?.stringValue ?? "?" }
        #expect(
            codes == [
                "invalid_json", "invalid_message", "invalid_message", "invalid_message", "unknown_op",
                "invalid_message", "invalid_message", "bad_pattern", "bad_pattern", "too_many_subscriptions",
                "binary_unsupported", "pong",
            ]
        )
        #expect(answers[0]["message"] == .string("invalid JSON at byte 0: unexpected character"))
        #expect(answers[8]["message"] == .string("'/a/**/b': '**' may only be the last segment of a pattern"))
        #expect(answers[11]["id"] == .string("still-here"))
    }

    /// docs/protocol.md's close-code table.
    @Test func protocolViolationsCloseWithTheDocumentedCodes() async throws {
        let hub = try await startHub(server: "  max_message_bytes: 1024\n")
        let port = hub.port
        let seen = try await offPool { try PythonClient.run("violations", port: port, ["1024"]) }
        for name in ["unmasked", "reserved_bit", "bad_opcode", "orphan_continuation", "new_message_mid_fragment"] {
            #expect(seen[name] == .integer(1002), "\(name)")
        }
        #expect(seen["fragmented_ping"] == .integer(1002))
        #expect(seen["invalid_utf8"] == .integer(1007))
        #expect(seen["oversized_frame"] == .integer(1009))
        #expect(seen["oversized_message"] == .integer(1009))
        #expect(seen["close_1000"] == .integer(1000))
        #expect(seen["close_4321"] == .integer(4321))
        #expect(seen["close_empty"] == .null)
        #expect(seen["close_1005"] == .integer(1002))
        #expect(seen["close_bad_utf8_reason"] == .integer(1007))
    }

    /// docs/protocol.md "HTTP".
    @Test func theHTTPEndpointsAnswerAsDocumented() async throws {
        let hub = try await startHub()
        let port = hub.port
        let seen = try await offPool { try PythonClient.run("http", port: port) }
        #expect(seen["healthz"] == .object(["status": .integer(200), "body": .object(["status": .string("ok")])]))
        #expect(seen["readyz"]?["status"] == .integer(200))
        #expect(seen["readyz"]?["body"]?["status"] == .string("ready"))
        #expect(seen["channels"]?["body"]?["epoch"]?.stringValue?.isEmpty == false)
        guard case .array(let list)? = seen["channels"]?["body"]?["channels"] else {
            Issue.record("no channel list: \(seen)")
            return
        }
        let a = list.first { $0["channel"] == .string("/t/a") }
        #expect(a?["version"] == .integer(2))
        #expect(Set(a?.objectKeys ?? []) == ["channel", "version", "ts"])
        #expect(seen["one"]?["status"] == .integer(200))
        #expect(seen["one"]?["body"]?["channel"] == .string("/t/a"))
        #expect(seen["one"]?["body"]?["version"] == .integer(2))
        #expect(seen["one"]?["body"]?["value"] == .object(["v": .double(2.5)]))
        if case .integer? = seen["one"]?["body"]?["ts"] {} else { Issue.record("ts is not an integer: \(seen)") }
        #expect(seen["missing"]?["status"] == .integer(404))
        #expect(seen["missing"]?["body"]?["error"] == .string("no such channel: /t/zzz"))
        #expect(seen["bad_path"]?["status"] == .integer(400))
        #expect(seen["unknown_route"]?["status"] == .integer(404))
        #expect(seen["wrong_method"]?["status"] == .integer(405))
        #expect(seen["wrong_method"]?["allow"] == .string("GET, HEAD"))
        let status = HTTP.get(port: hub.port, "/api/channels/plenum/devices/t/status")
        #expect(status?.status == 200)
        #expect(status.flatMap { try? JSONParser.parse($0.body) }?["value"]?["state"] == .string("running"))
    }

    /// README: "Stop with Ctrl-C (SIGINT) or SIGTERM: clients get a 1001 close."
    @Test(arguments: [SIGTERM, SIGINT])
    func stoppingTheHubClosesClientsWith1001(signal: Int32) async throws {
        let hub = try await startHub()
        let marker = NSTemporaryDirectory() + "plenum-marker-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let port = hub.port
        async let seen = offPool { try PythonClient.run("shutdown_close", port: port, [marker]) }
        #expect(await waitForFile(marker))
        hub.hub?.signal(signal)
        let close = try await seen
        #expect(close["code"] == .integer(1001))
        #expect(close["reason"] == .string("server shutting down"))
        #expect(hub.hub?.waitForExit() == 0)
    }

    /// README: `plenum watch` exits "2 when it refuses the subscription".
    @Test func watchExitsWith2WhenTheHubRefusesTheSubscription() async throws {
        let hub = try await startHub(server: "  max_subscriptions: 1\n")
        let port = hub.port
        let watch = try await offPool {
            try PlenumBinary.run(["watch", "--url", "ws://127.0.0.1:\(port)", "--count", "1", "/t/a", "/t/b/c"])
        }
        #expect(watch.status == 2, "\(watch.stdout)\(watch.stderr)")
        #expect(watch.stderr.contains("plenum watch: the hub refused the subscription (too_many_subscriptions)"))
    }

    /// docs/protocol.md "Metrics": every metric its table names is served by `GET /metrics` from
    /// the start (trends on, so theirs are there too). Only the families documented when this
    /// test was written are checked, so that a part added later can document metrics that appear
    /// only once it is configured.
    @Test func everyDocumentedMetricIsServed() async throws {
        let directory = try HubDirectory(
            yaml: Self.yaml() + "trends:\n  enabled: true\n  path: trends.db\n",
            scripts: ["t.lua": Self.script]
        )
        _ = try #require(try directory.start(), "the hub did not start: \(directory.hub?.text ?? "")")
        let doc = try String(contentsOfFile: PythonClient.repositoryRoot + "/docs/protocol.md", encoding: .utf8)
        let families = [
            "plenum_server_", "plenum_ws_", "plenum_tick_", "plenum_device_", "plenum_trends_", "plenum_writes_",
        ]
        let documented = doc.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `plenum_") else { return nil }
            let name = line.dropFirst(3).prefix { $0 != "`" && $0 != "{" }
            return families.contains { name.hasPrefix($0) } ? String(name) : nil
        }
        #expect(documented.count >= 20, "\(documented)")
        let text = try #require(HTTP.get(port: directory.port, "/metrics")?.body)
        let served = Set(
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
                String(line.prefix { $0 != "{" && $0 != " " })
            }
        )
        for name in documented {
            #expect(
                served.contains(name) || served.contains(name + "_count"),
                "\(name) is documented but not served"
            )
        }
    }

    /// docs/protocol.md "HTTP": HEAD is answered like GET, without a body; README "Log level".
    @Test func headRequestsAndTheDebugLogLevel() async throws {
        let directory = try HubDirectory(yaml: Self.yaml(), scripts: ["t.lua": Self.script])
        let hub = try RunningProcess(
            PlenumBinary.path,
            ["run", "--port", "0", "--log-level", "debug"],
            in: directory.path
        )
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        #expect(hub.waitFor("debug plenum") != nil, "\(hub.text)")
        #expect(await directory.eventually { HTTP.get(port: port, "/api/channels/t/a") != nil })
        let head = try await offPool {
            try ChildProcess.run("/usr/bin/curl", ["-sI", "http://127.0.0.1:\(port)/api/channels/t/a"], timeout: 10)
        }
        #expect(head.stdout.hasPrefix("HTTP/1.1 200"), "\(head.stdout)")
        #expect(head.stdout.lowercased().contains("content-type: application/json"))
        let get = HTTP.get(port: port, "/api/channels/t/a")
        #expect(head.stdout.lowercased().contains("content-length: \(get?.body.utf8.count ?? -1)"))
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }
}

extension JSONValue {
    /// The keys of an object (nil for anything else).
    fileprivate var objectKeys: [String]? {
        if case .object(let fields) = self { return Array(fields.keys) }
        return nil
    }
}
