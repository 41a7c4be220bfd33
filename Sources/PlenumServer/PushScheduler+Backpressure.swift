import Logging
import NIOCore
import PlenumCore

/// What one connection may have queued, and what happens beyond it.
///
/// Every byte the hub queues for a connection — welcome, replies, snapshots, replays, pongs,
/// pings, updates — goes through `queue(_:to:)` or the tick, and counts toward
/// `max_pending_bytes`: what NIO holds for it that the kernel has not taken
/// (`bufferedWritableBytes`) plus the updates it is owed (the newest frame of each channel it
/// skipped while not writable). Before anything more is queued the total is checked; above the
/// cap the connection is closed with 4008. So one connection holds at most `max_pending_bytes`
/// plus the one message that crossed it.
///
/// Cheap on the hot path: the channel's high write watermark is at most `max_pending_bytes`
/// (see `PushServer`), so a writable connection that owes nothing is under the cap without
/// asking NIO; the tick writes only to writable connections and owes the rest, in the index
/// entry it already holds (no lookup).
extension PushScheduler {
    /// Queues `buffer` for `connection`, or closes it with 4008 when what it already holds
    /// back exceeds the cap. Nothing is queued on a closing connection.
    func queue(_ buffer: ByteBuffer, to connection: PushConnection) {
        guard !connection.isClosing else { return }
        guard mayQueue(connection) else { return closeSlowConsumer(connection) }
        connection.send(buffer)
    }

    /// Whether `connection` is within `max_pending_bytes`.
    func mayQueue(_ connection: PushConnection) -> Bool {
        if connection.writable && connection.owedBytes == 0 { return true }
        return pendingBytes(of: connection) <= configuration.maxPendingBytes
    }

    func pendingBytes(of connection: PushConnection) -> Int {
        connection.owedBytes + connection.bufferedBytes
    }

    /// Records that the subscriber of `entry` skipped a version of its channel (conflation);
    /// true when what it holds back now exceeds the cap (the caller closes it once the fan-out
    /// is done). Must not touch the index (the tick calls it from inside it).
    func owe(_ bytes: Int, entry: inout SubscriberIndex<PushConnection>.Entry) -> Bool {
        let connection = entry.subscriber
        guard !connection.isClosing else { return false }
        connection.owedBytes += bytes - entry.owed
        entry.owed = bytes
        return pendingBytes(of: connection) > configuration.maxPendingBytes
    }

    func closeSlowConsumer(_ connection: PushConnection) {
        guard !connection.isClosing else { return }
        metrics.slowConsumerCloses.increment()
        logger.warning(
            "closing slow consumer",
            metadata: ["ws.connection.id": "\(connection.id)", "ws.pending_bytes": "\(pendingBytes(of: connection))"]
        )
        connection.close(
            .slowConsumer,
            reason: "slow consumer: more than \(configuration.maxPendingBytes) bytes pending",
            allocator: allocator
        )
    }

    /// The connection became writable again: send the newest version of everything it is owed.
    func catchUp(_ connection: PushConnection) {
        guard connection.owedBytes > 0, !connection.isClosing else { return }
        var batch = allocator.buffer(capacity: connection.owedBytes)
        var delivered = 0
        var skipped = 0
        for channel in connection.slots.keys {
            guard let entry = index.entry(of: connection, on: channel), entry.owed > 0 else { continue }
            index.update(connection, on: channel) { $0.owed = 0 }
            guard let version = store.latest(id: channel), version.version > entry.lastSent else { continue }
            if entry.lastSent > 0 { skipped += Int(version.version - entry.lastSent - 1) }
            delivered += 1
            index.update(connection, on: channel) { $0.lastSent = version.version }
            ServerFrame.appendText(version.updateMessage, to: &batch)
        }
        connection.owedBytes = 0
        metrics.messages.increment(by: Int64(delivered))
        metrics.bytes.increment(by: Int64(batch.readableBytes))
        if skipped > 0 { metrics.conflated.increment(by: Int64(skipped)) }
        if batch.readableBytes > 0 { connection.send(batch) }
    }
}
