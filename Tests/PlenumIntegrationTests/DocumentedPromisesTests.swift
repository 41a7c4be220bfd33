import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// Promises of docs/configuration.md and docs/protocol.md that were tested only in process,
/// checked against the built `plenum run`: `tick_ms: 0` (wake on publish) and `/readyz` before
/// the devices have started.
@Suite(.serialized) struct DocumentedPromisesTests {
    /// A counter that publishes its next version only when a client writes `next` (so a client
    /// that writes on receipt gets every version: none can be conflated), and on `burst`
    /// publishes 1…2000 without pausing, then `"done"`.
    static let pingPong = """
        local n = 0
        hub.publish("n", n)
        while true do
            local writes, why = hub.commands()
            if why == "stopping" then break end
            for _, cmd in ipairs(writes or {}) do
                hub.ack(cmd, true)
                if cmd.channel == "next" then
                    n = n + 1
                    hub.publish("n", n)
                else
                    for i = 1, 2000 do hub.publish("burst", i) end
                    hub.publish("burst", "done")
                end
            end
        end
        """

    /// docs/configuration.md `tick_ms`: "`0` pushes as soon as a value is published, coalesced
    /// per event loop"; docs/protocol.md: the `welcome` says `tick_ms: 0`. With no tick to fall
    /// back on, every version reaches the client only through a wake-up: 300 versions, each
    /// published only after the previous one arrived, all arrive in order (a lost wake-up would
    /// stall the exchange); a burst of 2001 versions arrives in increasing order ending with the
    /// last, though nothing is published after it.
    @Test func withTickZeroEveryVersionIsPushedInOrderAndTheLastOfABurstArrives() async throws {
        let yaml = """
            server:
              port: 0
              tick_ms: 0
            devices:
              - name: c
                script: plugins/c.lua
                prefix: /c
                writable:
                  - { channel: next, type: boolean }
                  - { channel: burst, type: boolean }

            """
        let hub = try HubDirectory(yaml: yaml, scripts: ["c.lua": Self.pingPong])
        let port = try #require(try hub.start(), "the hub did not start: \(hub.hub?.text ?? "")")
        #expect(await hub.eventually { hub.value("/c/n") != nil })
        let seen = try await offPool { try PythonClient.run("tick_zero", port: port, ["300"], client: "promises.py") }
        #expect(seen["welcome_tick_ms"] == .integer(0))
        #expect(seen["start"] == .integer(0))
        #expect(seen["n_values"] == .array((1...300).map { .integer(Int64($0)) }))
        #expect(seen["write_failures"] == .array([]))
        #expect(seen["burst_last_version"] == .integer(2001))
        #expect(seen["burst_increasing"] == .bool(true))
    }

    /// docs/configuration.md `tick_ms`: "each loop still reads its sockets between two passes, so
    /// clients can connect and send messages under any publish rate" — a device publishing 50
    /// channels without pausing, a client that connects, subscribes, pings and unsubscribes.
    @Test func withTickZeroClientsAreServedWhileADevicePublishesWithoutPause() async throws {
        let script = """
            local n = 0
            repeat
                for i = 1, 500 do
                    n = n + 1
                    hub.publish("x/" .. (i % 50), n)
                end
            until not hub.sleep(0)
            """
        let yaml = """
            server:
              port: 0
              tick_ms: 0
              event_loops: 1
            devices:
              - name: b
                script: plugins/b.lua
                prefix: /b

            """
        let hub = try HubDirectory(yaml: yaml, scripts: ["b.lua": script])
        let port = try #require(try hub.start(), "the hub did not start: \(hub.hub?.text ?? "")")
        #expect(await hub.eventually { hub.value("/b/x/49") != nil })
        let seen = try await offPool {
            try PythonClient.run("busy_publisher", port: port, ["/b/**"], client: "promises.py")
        }
        #expect(seen["welcome"] == .string("welcome"))
        #expect(seen["answers"] == .array(["subscribed", "snapshot", "pong", "unsubscribed"].map { .string($0) }))
        #expect((seen["updates"]?.numberValue ?? 0) >= 20)
    }

    /// docs/protocol.md "HTTP": `/readyz` is "`{"status":"ready"}` once the devices have been
    /// started; 503 `{"status":"starting"}` before". Starting a device compiles its script before
    /// anything else, and the server listens meanwhile: a 40 MB script (4 million statements,
    /// ~0.8 s to compile here) holds the start long enough for a client that asks as soon as the
    /// hub says it listens to see `starting`, then `ready`, and never `starting` again.
    @Test func readyzSaysStartingUntilTheDevicesHaveStarted() async throws {
        let yaml = """
            server:
              port: 0
            devices:
              - name: big
                script: plugins/big.lua
                prefix: /big

            """
        let body = String(repeating: "a = a + 1\n", count: 4_000_000)
        let hub = try HubDirectory(
            yaml: yaml,
            scripts: ["big.lua": "local a = 0\n" + body + "hub.publish(\"a\", a)\nhub.sleep(math.huge)\n"]
        )
        let port = try #require(try hub.start(), "the hub did not start: \(hub.hub?.text ?? "")")
        // Asked at once (the first GET right after the `listening` line), then every 20 ms until
        // ready, and five times more: each change of answer.
        let answers = try await offPool { () -> [String] in
            var answers: [String] = []
            var ready = 0
            let deadline = Date().addingTimeInterval(30)
            while ready < 5 && Date() < deadline {
                let answer = HTTP.get(port: port, "/readyz").map { "\($0.status) \($0.body)" } ?? "no answer"
                if answers.last != answer { answers.append(answer) }
                if answer.hasPrefix("200") { ready += 1 }
                usleep(20_000)
            }
            return answers
        }
        #expect(answers == [#"503 {"status":"starting"}"#, #"200 {"status":"ready"}"#])
        #expect(hub.hub?.waitFor("hub started", timeout: 10) != nil)
    }
}
