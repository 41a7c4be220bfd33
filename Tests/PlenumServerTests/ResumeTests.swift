import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

@testable import PlenumServer

/// A client that reconnects with its positions gets exactly what it missed, or knows it did not.
@Suite(.serialized) struct ResumeTests {
    /// Runs the `resume` scenario: the client takes positions from `first`, then `between` runs
    /// (publishing, or replacing the hub), then the client reconnects to the returned hub.
    private func scenario(
        history: Int,
        between: @escaping @Sendable (ServerHarness) async throws -> ServerHarness
    ) async throws -> (JSONValue, ServerHarness) {
        let first = try await ServerHarness.start(history: history)
        first.store.publish(try ChannelPath("/r/a"), .integer(1))
        first.store.publish(try ChannelPath("/r/b"), .integer(1))
        let marker = markerPath()
        let portFile = markerPath()
        let port = first.port
        async let seen = offPool { try PythonClient.run("resume", port: port, ["/r/**", marker, portFile]) }
        #expect(await waitForFile(marker))
        let next = try await between(first)
        try String(next.port).write(toFile: portFile, atomically: true, encoding: .utf8)
        let result = try await seen
        return (result, next)
    }

    @Test func missedVersionsAreReplayedInOrderWithoutDuplicates() async throws {
        let (seen, hub) = try await scenario(history: 16) { hub in
            for i in 2...6 {
                hub.store.publish(try ChannelPath("/r/a"), .integer(Int64(i)))
                hub.store.publish(try ChannelPath("/r/b"), .integer(Int64(i)))
            }
            hub.store.publish(try ChannelPath("/r/c"), .integer(1))
            return hub
        }
        await hub.stop()
        #expect(seen["ack"]?["recovered"] == .bool(true))
        #expect(seen["ack"]?["id"] == .integer(1))
        #expect(seen["snapshot"] == .null)
        let expected: [JSONValue] =
            (2...6).map { .array([.string("/r/a"), .integer(Int64($0))]) }
            + (2...6).map { .array([.string("/r/b"), .integer(Int64($0))]) }
            + [.array([.string("/r/c"), .integer(1)])]
        #expect(seen["updates"] == .array(expected))
    }

    @Test func beyondTheHistoryDepthTheClientGetsASnapshot() async throws {
        let (seen, hub) = try await scenario(history: 4) { hub in
            for i in 2...10 { hub.store.publish(try ChannelPath("/r/a"), .integer(Int64(i))) }
            return hub
        }
        await hub.stop()
        #expect(seen["ack"]?["recovered"] == .bool(false))
        #expect(
            seen["snapshot"]
                == .array([.array([.string("/r/a"), .integer(10)]), .array([.string("/r/b"), .integer(1)])])
        )
        #expect(seen["updates"] == .array([]))
    }

    @Test func afterAHubRestartTheEpochDiffersAndTheClientGetsASnapshot() async throws {
        let (seen, hub) = try await scenario(history: 16) { old in
            await old.stop()
            let restarted = try await ServerHarness.start(history: 16)
            restarted.store.publish(try ChannelPath("/r/a"), .integer(1))
            return restarted
        }
        await hub.stop()
        #expect(seen["ack"]?["recovered"] == .bool(false))
        #expect(seen["snapshot"] == .array([.array([.string("/r/a"), .integer(1)])]))
    }
}
