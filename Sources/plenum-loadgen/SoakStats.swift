/// What one soak thread's clients did and saw (the main thread adds them up).
struct SoakStats: Sendable {
    var connects = 0
    var connectFailures = 0
    var closesSent = 0
    var finCloses = 0
    var resetCloses = 0
    var subscribes = 0
    var unsubscribes = 0
    var pings = 0
    var pongsSent = 0
    var messages = 0
    var updates = 0
    var snapshots = 0
    /// Connections the hub ended without being asked (any close frame or EOF the client did not
    /// start).
    var unexpectedCloses = 0
    /// Broken promises: messages that contradict docs/protocol.md.
    var violations = 0
    var examples: [String] = []

    mutating func note(_ problem: String) {
        if examples.count < 10 { examples.append(problem) }
    }

    mutating func merge(_ other: SoakStats) {
        connects += other.connects
        connectFailures += other.connectFailures
        closesSent += other.closesSent
        finCloses += other.finCloses
        resetCloses += other.resetCloses
        subscribes += other.subscribes
        unsubscribes += other.unsubscribes
        pings += other.pings
        pongsSent += other.pongsSent
        messages += other.messages
        updates += other.updates
        snapshots += other.snapshots
        unexpectedCloses += other.unexpectedCloses
        violations += other.violations
        for example in other.examples where examples.count < 10 { examples.append(example) }
    }

    var dictionary: [String: Any] {
        [
            "connects": connects, "connect_failures": connectFailures, "closes_sent": closesSent,
            "fin_closes": finCloses, "reset_closes": resetCloses, "subscribes": subscribes,
            "unsubscribes": unsubscribes, "pings": pings, "pongs_sent": pongsSent, "messages": messages,
            "updates": updates, "snapshots": snapshots, "unexpected_closes": unexpectedCloses,
            "violations": violations, "examples": examples,
        ]
    }
}
