import Foundation
import PlenumCore
import PlenumTestSupport
import Synchronization
import Testing

@testable import PlenumServer

/// `GET /api/history/<path>` on the server: answered when the source replies, off the event
/// loop, in order with the requests pipelined behind it.
@Suite struct HistoryRouteTests {
    /// Answers on its own thread after a pause, echoing the query; remembers what it was asked.
    final class SlowSource: HistorySource {
        let asked = Mutex<[HistoryQuery]>([])

        func history(_ query: HistoryQuery, reply: @escaping @Sendable (Result<HistoryResult, HistoryError>) -> Void) {
            asked.withLock { $0.append(query) }
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.3)
                if query.channel.string == "/missing" {
                    reply(.failure(HistoryError(.unknownChannel, "no history for /missing")))
                    return
                }
                let sample = HistorySample(timestamp: query.from, value: .double(6.5))
                reply(
                    .success(
                        HistoryResult(
                            channel: query.channel,
                            from: query.from,
                            to: query.to,
                            step: .raw,
                            points: .raw([sample])
                        )
                    )
                )
            }
        }
    }

    @Test func aSlowAnswerKeepsPipelinedRequestsInOrder() async throws {
        let source = SlowSource()
        let harness = try await ServerHarness.start(historySource: source)
        let seen = try await offPool {
            try PythonClient.run(
                "http_pipelined",
                port: harness.port,
                [
                    "/api/history/plant/a?from=1000&to=2000&step=raw", "/healthz", "/api/history/missing",
                    "/api/history/plant/a?step=9s",
                ]
            )
        }
        await harness.stop()
        guard case .array(let answers)? = seen["answers"] else {
            Issue.record("no answers: \(seen)")
            return
        }
        #expect(answers.map { $0["status"] } == [.integer(200), .integer(200), .integer(404), .integer(400)])
        #expect(
            answers.first?["body"]
                == .string(
                    #"{"channel":"/plant/a","from":1000,"to":2000,"step":"raw","points":[{"ts":1000,"value":6.5}]}"#
                )
        )
        #expect(answers.dropFirst(2).first?["body"]?.stringValue?.contains(#""code":"unknown_channel""#) == true)
        #expect(answers.last?["body"]?.stringValue?.contains("step=9s is not a step") == true)
        // The malformed one never reached the source.
        #expect(source.asked.withLock { $0.map(\.channel.string) } == ["/plant/a", "/missing"])
    }

    @Test func withoutASourceHistoryIsDisabled() async throws {
        let harness = try await ServerHarness.start()
        let seen = try await offPool { try PythonClient.run("get", port: harness.port, ["/api/history/plant/a"]) }
        await harness.stop()
        #expect(seen["status"] == .integer(404))
        #expect(seen["body"]?["code"] == .string("trends_disabled"))
    }
}
