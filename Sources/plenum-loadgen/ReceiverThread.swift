import CEpoll
import Foundation
import Synchronization

/// One receiving thread: an epoll set of connections, read as they become readable, with the
/// statistics of what arrived on them.
final class ReceiverThread: Sendable {
    private let epoll: Int32
    private let start: Double
    /// Connections handed over by the main thread, not yet taken by the receiver.
    private let arrivals = Mutex<[RawConnection]>([])
    /// The statistics so far, held by the thread while it reads one batch of ready sockets.
    private let shared = Mutex(LoadStats())
    /// Upgraded and ended connections, readable without waiting for a batch to finish.
    private let upgraded = Atomic(0)
    private let ended = Atomic(0)

    init(start: Double) {
        self.start = start
        epoll = epoll_create1(0)
        precondition(epoll >= 0, "epoll_create1: \(String(cString: strerror(errno)))")
        let thread = Thread { [self] in run() }
        thread.name = "receiver"
        thread.start()
    }

    /// Hands `connection` to this thread (which reads it from then on).
    func add(_ connection: RawConnection) {
        arrivals.withLock { $0.append(connection) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = connection.fd
        epoll_ctl(epoll, EPOLL_CTL_ADD, connection.fd, &event)
    }

    func withStats<T>(_ body: (inout LoadStats) -> T) -> T {
        shared.withLock { body(&$0) }
    }

    /// Connections that have upgraded or ended so far.
    var settled: Int { upgraded.load(ordering: .relaxed) + ended.load(ordering: .relaxed) }

    private func run() {
        let capacity = 256
        var events = [epoll_event](repeating: epoll_event(), count: capacity)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
        var connections: [Int32: RawConnection] = [:]
        while true {
            let ready = epoll_wait(epoll, &events, Int32(capacity), 1000)
            // Taken after the wait: a socket is registered only after its connection arrived.
            let arrived = arrivals.withLock { list in
                defer { list.removeAll() }
                return list
            }
            for connection in arrived { connections[connection.fd] = connection }
            guard ready > 0 else { continue }
            shared.withLock { stats in
                for event in events[..<Int(ready)] {
                    let fd = event.data.fd
                    guard let connection = connections[fd] else { continue }
                    let open = connection.readAvailable(into: scratch) { received in
                        handle(received, on: connection, stats: &stats)
                    }
                    if !open {
                        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
                        close(fd)
                        connections[fd] = nil
                    }
                }
            }
        }
    }

    private func handle(_ event: RawConnection.Event, on connection: RawConnection, stats: inout LoadStats) {
        switch event {
        case .upgraded:
            stats.connected += 1
            upgraded.add(1, ordering: .relaxed)
        case .ping:
            break  // measurements end long before the hub's keep-alive would close a silent client
        case .closed(let reason, _):
            stats.closed += 1
            ended.add(1, ordering: .relaxed)
            if let reason, stats.errors.count < 5 { stats.errors.append(reason) }
        case .text(let payload):
            record(payload, on: connection, stats: &stats)
        }
    }

    /// Reads an update's channel, version and ts in one forward pass over the bytes (the hub
    /// always writes `{"type":"update","channel":"…","version":N,"ts":T,"value":…}`); any other
    /// message is only counted in bytes.
    private func record(_ bytes: UnsafeRawBufferPointer, on connection: RawConnection, stats: inout LoadStats) {
        stats.bytes += bytes.count
        let prefix = Self.updatePrefix
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return }
        var i = prefix.count
        var hasher = Hasher()
        while i < bytes.count, bytes[i] != 0x22 {
            hasher.combine(bytes[i])
            i += 1
        }
        let channel = hasher.finalize()
        guard let (version, afterVersion) = Self.integer(in: bytes, from: i, skipping: 12),
            let (ts, _) = Self.integer(in: bytes, from: afterVersion, skipping: 6)
        else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nowMicros = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
        let latency = max(0, nowMicros - ts)
        stats.messages += 1
        stats.histogram.record(latency)
        stats.record(latency, second: Int(Double(nowMicros) / 1e6 - start))
        if let last = connection.lastVersion[channel], UInt64(version) > last + 1 {
            stats.skipped += UInt64(version) - last - 1
        }
        connection.lastVersion[channel] = UInt64(version)
    }

    private static let updatePrefix = Array(#"{"type":"update","channel":""#.utf8)

    /// The digits starting `skip` bytes after `index` (past `","version":` or `,"ts":`).
    private static func integer(in bytes: UnsafeRawBufferPointer, from index: Int, skipping skip: Int) -> (Int64, Int)?
    {
        var i = index + skip
        var value: Int64 = 0
        let start = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            value = value * 10 + Int64(bytes[i] - 0x30)
            i += 1
        }
        return i > start ? (value, i) : nil
    }
}
