import Foundation
import PlenumTestSupport
import Testing

/// `plenum watch` against a running hub: its lines, its exit codes, its errors.
@Suite(.serialized) struct WatchCommandTests {
    private func startHub() throws -> (RunningProcess, Int) {
        let hub = try RunningProcess(
            PlenumBinary.path,
            ["run", "--config", "good.yaml", "--port", "0"],
            in: PlenumBinary.fixtures
        )
        guard let port = hub.waitForPort() else {
            hub.kill()
            throw ChildProcessFailure(description: "the hub did not start:\n\(hub.text)")
        }
        return (hub, port)
    }

    @Test func printsTheSnapshotThenEachUpdateAndStopsAfterCount() throws {
        let (hub, port) = try startHub()
        defer { hub.kill() }
        // Let the counter publish at least once so the snapshot has a line.
        #expect(hub.waitFor("hub started") != nil)
        Thread.sleep(forTimeInterval: 0.3)
        let result = try PlenumBinary.run(["watch", "--url", "ws://127.0.0.1:\(port)", "--count", "3", "/test/**"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(lines)")
        let pattern = try Regex(#"^/test/counter/count  v(\d+)  (\d+)  \(age \d+ ms\)$"#)
        var versions: [Int] = []
        for line in lines {
            guard let match = line.wholeMatch(of: pattern), let version = Int(match.output[1].substring ?? "")
            else {
                Issue.record("unexpected line: \(line)")
                continue
            }
            #expect(match.output[1].substring == match.output[2].substring)
            versions.append(version)
        }
        #expect(versions == versions.sorted() && Set(versions).count == versions.count)
    }

    @Test func aHubThatGoesAwayEndsTheWatchWithStatus1() throws {
        let (hub, port) = try startHub()
        defer { hub.kill() }
        let watch = try RunningProcess(PlenumBinary.path, ["watch", "--url", "ws://127.0.0.1:\(port)", "/test/**"])
        defer { watch.kill() }
        #expect(watch.waitFor("/test/counter/count") != nil)
        hub.signal(SIGTERM)
        #expect(watch.waitForExit() == 1)
        #expect(watch.text.contains("plenum watch: the hub closed the connection (code 1001)"))
    }

    /// Issue 11 item 18: on main the watch hung forever on a 503.
    @Test func aRefusedUpgradeEndsTheWatchWithStatus1AndTheHubsReason() throws {
        let directory = NSTemporaryDirectory() + "plenum-watch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yaml = """
            server: {host: 127.0.0.1, port: 0, max_connections: 1}
            devices:
              - {name: counter, script: \(PlenumBinary.fixtures)/plugins/counter.lua, prefix: /test/counter}

            """
        try yaml.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let hub = try RunningProcess(PlenumBinary.path, ["run", "--config", directory + "/hub.yaml"])
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        let first = try RunningProcess(PlenumBinary.path, ["watch", "--url", "ws://127.0.0.1:\(port)", "/test/**"])
        defer { first.kill() }
        #expect(first.waitFor("/test/counter/count") != nil)
        let second = try PlenumBinary.run(["watch", "--url", "ws://127.0.0.1:\(port)", "/test/**"], timeout: 20)
        #expect(!second.timedOut)
        #expect(second.status == 1)
        #expect(
            second.stderr
                == "plenum watch: the hub refused the WebSocket upgrade: HTTP 503 Service Unavailable: too many connections (limit 1)\n"
        )
        #expect(second.stdout.isEmpty)
    }

    @Test func unreachableHubAndBadArgumentsFailCleanly() throws {
        let refused = try PlenumBinary.run(["watch", "--url", "ws://127.0.0.1:1", "/x"])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("plenum watch: cannot connect to ws://127.0.0.1:1:"))
        #expect(refused.stdout.isEmpty)

        let badPattern = try PlenumBinary.run(["watch", "/a/**/b"])
        #expect(badPattern.status == 64)
        #expect(badPattern.stderr.contains("'/a/**/b' is not a valid channel path or pattern"))

        let badURL = try PlenumBinary.run(["watch", "--url", "http://hub:8080", "/x"])
        #expect(badURL.status == 64)
        #expect(badURL.stderr.contains("'http://hub:8080' is not a ws:// URL"))
    }
}

struct ChildProcessFailure: Error, CustomStringConvertible {
    let description: String
}
