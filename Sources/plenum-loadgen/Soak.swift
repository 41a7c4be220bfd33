import ArgumentParser
import Foundation

/// `plenum-loadgen soak`: the clients of the soak test (`make soak`, Tests/Soak/soak.py), driven
/// by commands on stdin, one per line, each answered with one JSON line on stdout:
///
/// - `status`: what the clients did and saw so far;
/// - `settle`: stop the churn (nothing new starts; handshakes and requests under way finish),
///   then answer once every live client is open with every request acknowledged (or after 60 s);
/// - `verify JSON` (the body of `GET /api/channels`, taken after publishing stopped): answer once
///   every live client holds exactly the listed version of every channel its subscriptions
///   match (or after 30 s, with what does not);
/// - `quit` (or the end of stdin): exit.
///
/// Every message a client receives is checked as it arrives (versions only go up; nothing for a
/// channel it holds no subscription to; the hub ends no connection the client did not), and
/// every broken promise is counted in `violations` with examples.
struct Soak: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Churning WebSocket clients for the soak test.")

    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option(help: "Client slots (each reconnects after its client leaves).") var clients = 2000
    @Option(help: "Threads, each with its share of the clients.") var threads = 2
    @Option(help: "Subscription patterns clients pick from, comma separated.") var patterns: String
    @Option(help: "Shortest client lifetime, seconds.") var minLifetime = 20.0
    @Option(help: "Longest client lifetime, seconds.") var maxLifetime = 90.0

    func run() throws {
        let list = patterns.split(separator: ",").map(String.init)
        let count = max(1, threads)
        let workers = (0..<count).map { index in
            SoakThread(
                host: host,
                port: port,
                slots: clients / count + (index < clients % count ? 1 : 0),
                patterns: list,
                lifetime: minLifetime...max(minLifetime, maxLifetime)
            )
        }
        while let line = readLine() {
            let command = line.prefix { $0 != " " }
            switch command {
            case "status":
                emit(json(["event": "status"], workers))
            case "settle":
                let generation = workers.map { $0.setMode(.settle) }.max() ?? 0
                let settled = wait(60, workers) {
                    $0.generation >= generation && $0.connecting == 0 && $0.settled == $0.live
                }
                emit(json(["event": "settled", "complete": settled], workers))
            case "verify":
                let body = Data(line.dropFirst(command.count + 1).utf8)
                var expected: [String: Int64] = [:]
                let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
                for entry in object?["channels"] as? [[String: Any]] ?? [] {
                    if let channel = entry["channel"] as? String, let version = entry["version"] as? NSNumber {
                        expected[channel] = version.int64Value
                    }
                }
                // Only reports made after the switch count (the threads report every ~200 ms).
                let generation = workers.map { $0.setMode(.verify(expected)) }.max() ?? 0
                let exact = wait(30, workers) { $0.generation >= generation && $0.mismatchedClients == 0 }
                emit(json(["event": "verified", "exact": exact, "channels": expected.count], workers))
            case "quit":
                Foundation.exit(0)
            default:
                emit(#"{"event":"error","message":"unknown command"}"#)
            }
        }
        Foundation.exit(0)
    }

    /// One answer line on stdout, unbuffered (the driver waits for it).
    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Polls the threads' reports until `done` holds for all of them or `seconds` pass.
    private func wait(_ seconds: Double, _ workers: [SoakThread], _ done: (SoakThread.Report) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if workers.allSatisfy({ done($0.latest) }) { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return workers.allSatisfy { done($0.latest) }
    }

    private func json(_ fields: [String: Any], _ workers: [SoakThread]) -> String {
        var stats = SoakStats()
        var fields = fields
        var live = 0
        var settled = 0
        var checked = 0
        var mismatched = 0
        var mismatches: [String] = []
        for report in workers.map(\.latest) {
            stats.merge(report.stats)
            live += report.live
            settled += report.settled
            checked += report.checked
            mismatched += report.mismatchedClients
            mismatches += report.mismatches
        }
        fields["live"] = live
        fields["settled"] = settled
        fields["checked_pairs"] = checked
        fields["mismatched_clients"] = mismatched
        fields["mismatches"] = Array(mismatches.prefix(10))
        fields["stats"] = stats.dictionary
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
