import CEpoll
import Foundation
import Synchronization

/// One thread of soak clients: its share of the client slots, an epoll set of their sockets,
/// and the churn — each client connects, subscribes and unsubscribes by message, pings, and
/// after its lifetime leaves (a close handshake, a bare FIN, or a reset), and its slot connects
/// anew. The main thread switches all threads from churning to settling (nothing new starts;
/// what is under way finishes) and then to verifying against the hub's `/api/channels`.
final class SoakThread: Sendable {
    enum Mode: Sendable {
        case churn
        case settle
        case verify([String: Int64])
    }

    /// What the thread last reported (every ~200 ms).
    struct Report: Sendable {
        var stats = SoakStats()
        var live = 0
        var settled = 0
        var checked = 0
        var mismatchedClients = 0
        var mismatches: [String] = []
    }

    private let epoll: Int32
    private let host: String
    private let port: Int
    private let slotCount: Int
    private let patterns: [String]
    private let lifetime: ClosedRange<Double>
    private let mode = Mutex(Mode.churn)
    private let report = Mutex(Report())

    init(host: String, port: Int, slots: Int, patterns: [String], lifetime: ClosedRange<Double>) {
        self.host = host
        self.port = port
        slotCount = slots
        self.patterns = patterns
        self.lifetime = lifetime
        epoll = epoll_create1(0)
        precondition(epoll >= 0, "epoll_create1: \(String(cString: strerror(errno)))")
        let thread = Thread { [self] in run() }
        thread.name = "soak"
        thread.start()
    }

    func setMode(_ new: Mode) { mode.withLock { $0 = new } }
    var latest: Report { report.withLock { $0 } }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
        var clients: [Int32: SoakClient] = [:]
        // Slots waiting to connect, with the time they may. They start spread over 20 s.
        let start = Self.now()
        var vacant: [Double] = (0..<slotCount).map { start + 20 * Double($0) / Double(max(1, slotCount)) }
        var stats = SoakStats()
        var nextReport = start
        var closingSince: [Int32: Double] = [:]

        func end(_ fd: Int32, reset: Bool = false) {
            if reset {
                var option = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
            }
            epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
            close(fd)
            clients[fd] = nil
            closingSince[fd] = nil
            vacant.append(Self.now() + Double.random(in: 0.1...2))
        }

        while true {
            let ready = epoll_wait(epoll, &events, Int32(events.count), 50)
            let current = mode.withLock { $0 }
            var churning = false
            if case .churn = current { churning = true }
            for event in events[..<Int(max(0, ready))] {
                let fd = event.data.fd
                guard let client = clients[fd] else { continue }
                var over = false
                let open = client.connection.readAvailable(into: scratch) { received in
                    switch received {
                    case .upgraded:
                        break
                    case .text(let payload):
                        if let broken = client.received(payload, stats: &stats) {
                            stats.violations += 1
                            stats.note(broken)
                        }
                    case .ping(let payload):
                        if client.connection.sendFrame(opcode: 0xA, Array(payload)) { stats.pongsSent += 1 }
                    case .closed(let reason, let code):
                        over = true
                        if client.phase == .closing, code != nil {
                            break  // the answer to our close frame
                        }
                        stats.unexpectedCloses += 1
                        stats.note("the hub ended a connection: \(reason ?? "code \(code.map(String.init) ?? "none")")")
                    }
                }
                if !open || over { end(fd) }
            }

            let now = Self.now()
            if churning {
                // Connect due slots (a bounded number per pass, so reads are not starved).
                var connected = 0
                vacant.sort()
                while connected < 20, let first = vacant.first, first <= now {
                    vacant.removeFirst()
                    connected += 1
                    let urlPattern = Bool.random() ? patterns.randomElement() : nil
                    do {
                        let connection = try RawConnection(host: host, port: port, path: "/ws" + (urlPattern ?? ""))
                        let client = SoakClient(
                            connection: connection,
                            urlPattern: urlPattern,
                            now: now,
                            lifetime: Double.random(in: lifetime)
                        )
                        clients[connection.fd] = client
                        var event = epoll_event()
                        event.events = EPOLLIN.rawValue
                        event.data.fd = connection.fd
                        epoll_ctl(epoll, EPOLL_CTL_ADD, connection.fd, &event)
                        stats.connects += 1
                    } catch {
                        stats.connectFailures += 1
                        stats.note("connect: \(error)")
                        vacant.append(now + 1)
                    }
                }
                for (fd, client) in clients where client.phase == .open && client.nextAction <= now {
                    client.nextAction = now + Double.random(in: 2...10)
                    if now >= client.leaveAt {
                        switch Int.random(in: 0..<3) {
                        case 0:
                            client.phase = .closing
                            closingSince[fd] = now
                            stats.closesSent += 1
                            if !client.connection.sendFrame(opcode: 0x8, [0x03, 0xE8]) { end(fd) }
                        case 1:
                            stats.finCloses += 1
                            end(fd)
                        default:
                            stats.resetCloses += 1
                            end(fd, reset: true)
                        }
                        continue
                    }
                    let held = client.heldPatterns
                    var sent = true
                    switch Int.random(in: 0..<10) {
                    case 0..<4 where held.count < 4:
                        let count = Int.random(in: 1...2)
                        sent = client.subscribe((0..<count).map { _ in patterns.randomElement()! })
                        stats.subscribes += 1
                    case 0..<7 where !held.isEmpty:
                        sent = client.unsubscribe([held.randomElement()!])
                        stats.unsubscribes += 1
                    default:
                        sent = client.ping()
                        stats.pings += 1
                    }
                    if !sent {
                        stats.violations += 1
                        stats.note("the hub did not take a client message")
                    }
                }
            }
            // A close handshake the hub does not finish within 10 s is a broken promise.
            for (fd, since) in closingSince where now - since > 10 {
                stats.violations += 1
                stats.note("no close frame within 10 s of the client's")
                end(fd)
            }

            if now >= nextReport {
                nextReport = now + 0.2
                var snapshot = Report()
                snapshot.stats = stats
                snapshot.live = clients.count
                snapshot.settled = clients.values.filter(\.settled).count
                if case .verify(let expected) = current {
                    for client in clients.values {
                        snapshot.checked += client.checked(against: expected)
                        let wrong = client.mismatches(against: expected)
                        if !wrong.isEmpty {
                            snapshot.mismatchedClients += 1
                            if snapshot.mismatches.count < 10 { snapshot.mismatches.append(wrong[0]) }
                        }
                    }
                }
                report.withLock { $0 = snapshot }
            }
        }
    }
}
