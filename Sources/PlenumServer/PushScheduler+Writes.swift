import NIOCore
import PlenumCore

/// Clients' `write` messages: handed to the command router, answered once with `written`.
///
/// A connection has at most `max_pending_writes` writes waiting for their answer, holding at most
/// `max_message_bytes` of their ids and values together (what the answers and the audit need
/// until they are settled); one more is answered `busy` at once (and audited like any attempt),
/// so what a connection holds for its answers is bounded. The answer arrives on whichever thread settled the write and hops to the
/// connection's event loop; a connection that closed meanwhile gets nothing (the attempt and its
/// outcome are in `/plenum/audit` all the same).
extension PushScheduler {
    func write(_ request: WriteRequest, id: JSONValue?, for connection: PushConnection) {
        guard let commands else {
            return answer(
                WriteOutcome(.notWritable, "this hub takes no writes"),
                channel: request.channel,
                id: id,
                to: connection
            )
        }
        let held = Self.heldBytes(request, id: id)
        guard connection.pendingWrites < configuration.maxPendingWrites,
            connection.pendingWriteBytes + held <= configuration.maxMessageBytes
        else {
            let outcome = WriteOutcome(
                .busy,
                connection.pendingWrites < configuration.maxPendingWrites
                    ? "this connection's unanswered writes would hold more than \(configuration.maxMessageBytes) bytes"
                    : "this connection has \(connection.pendingWrites) writes waiting for their answer (the limit)"
            )
            commands.refuse(request, from: connection.caller, outcome) { _ in }
            return answer(outcome, channel: request.channel, id: id, to: connection)
        }
        connection.pendingWrites += 1
        connection.pendingWriteBytes += held
        let bound = NIOLoopBound((self, connection), eventLoop: eventLoop)
        let eventLoop = self.eventLoop
        commands.submit(request, from: connection.caller) { outcome in
            eventLoop.execute {
                let (scheduler, connection) = bound.value
                connection.pendingWrites -= 1
                connection.pendingWriteBytes -= held
                scheduler.answer(outcome, channel: request.channel, id: id, to: connection)
            }
        }
    }

    /// What a pending write holds until it is answered: its id, channel and value (as JSON),
    /// plus the bookkeeping around them.
    static func heldBytes(_ request: WriteRequest, id: JSONValue?) -> Int {
        128 + (id?.jsonBytes.count ?? 0) + request.channel.string.utf8.count + request.value.jsonBytes.count
    }

    private func answer(_ outcome: WriteOutcome, channel: ChannelPath, id: JSONValue?, to connection: PushConnection) {
        metrics.written(outcome)
        guard !connection.isClosing, connections[connection.id] != nil else { return }
        queue(
            ServerFrame.text(ServerMessage.written(outcome, channel: channel, id: id), allocator: allocator),
            to: connection
        )
    }
}
