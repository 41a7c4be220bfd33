import CEpoll
import Foundation
import Synchronization

/// One thread of soak clients: its share of the client slots, an epoll set of their sockets,
/// and the churn — each client connects, subscribes and unsubscribes by message, pings, and
/// after its lifetime leaves (a close handshake, a bare FIN, or a reset), and its slot connects
/// anew. The main thread switches all threads from churning to settling (nothing new starts;
/// what is under way finishes) and then to verifying against the hub's `/api/channels`.
///
/// Connecting is blocking (and slow when the hub's accept queue is full: the kernel retries a
/// dropped SYN after 1 s, 3 s …), so a connector thread of its own does it and hands the
/// connections over; the reading thread never blocks, and a time it could not read (a stall of
/// the machine) is not held against the hub.
final class SoakThread: Sendable {
    enum Mode: Sendable {
        case churn
        case settle
        case verify([String: Int64])
    }

    /// What the thread last reported (every ~200 ms).
    struct Report: Sendable {
        /// The mode's generation the report was made in (see `setMode`).
        var generation = 0
        var stats = SoakStats()
        var live = 0
        var settled = 0
        /// Connections asked of the connector and not yet handed over.
        var connecting = 0
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
    private let mode = Mutex((Mode.churn, 0))
    private let report = Mutex(Report())
    /// URL patterns (nil: plain `/ws`) the connector is to connect with, and what it made of them.
    private let requests = Mutex<[String?]>([])
    private let arrivals = Mutex<[(pattern: String?, result: Result<RawConnection, LoadError>)]>([])

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
        let connector = Thread { [self] in connect() }
        connector.name = "soak-connect"
        connector.start()
    }

    /// Switches the mode; returns its generation, which reports made in it carry.
    @discardableResult
    func setMode(_ new: Mode) -> Int {
        mode.withLock { state in
            state = (new, state.1 + 1)
            return state.1
        }
    }
    var latest: Report { report.withLock { $0 } }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The connector thread: blocking connects, one after another.
    private func connect() {
        while true {
            let batch = requests.withLock { list in
                defer { list.removeAll() }
                return list
            }
            if batch.isEmpty {
                usleep(5_000)
                continue
            }
            for pattern in batch {
                let result = Result { () throws(LoadError) in
                    try RawConnection(host: host, port: port, path: "/ws" + (pattern ?? ""))
                }
                arrivals.withLock { $0.append((pattern, result)) }
            }
        }
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

        var connecting = 0
        var lastPass = Self.now()
        while true {
            let ready = epoll_wait(epoll, &events, Int32(events.count), 50)
            let (current, generation) = mode.withLock { $0 }
            var churning = false
            if case .churn = current { churning = true }
            // A pass that came late (the machine stalled this thread) moves the close deadlines.
            let stall = Self.now() - lastPass
            if stall > 0.5 { for fd in closingSince.keys { closingSince[fd]! += stall } }
            lastPass = Self.now()
            let arrived = arrivals.withLock { list in
                defer { list.removeAll() }
                return list
            }
            for (pattern, result) in arrived {
                connecting -= 1
                switch result {
                case .success(let connection):
                    let client = SoakClient(
                        connection: connection,
                        urlPattern: pattern,
                        now: Self.now(),
                        lifetime: Double.random(in: lifetime)
                    )
                    clients[connection.fd] = client
                    var event = epoll_event()
                    event.events = EPOLLIN.rawValue
                    event.data.fd = connection.fd
                    epoll_ctl(epoll, EPOLL_CTL_ADD, connection.fd, &event)
                    stats.connects += 1
                case .failure(let error):
                    stats.connectFailures += 1
                    stats.note("connect: \(error)")
                    vacant.append(Self.now() + 1)
                }
            }
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
                // Due slots go to the connector.
                vacant.sort()
                var due: [String?] = []
                while let first = vacant.first, first <= now {
                    vacant.removeFirst()
                    due.append(Bool.random() ? patterns.randomElement() : nil)
                }
                if !due.isEmpty {
                    connecting += due.count
                    requests.withLock { $0 += due }
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
            // A close handshake the hub does not finish within 10 s is a broken promise (checked
            // only after a pass that read every ready socket).
            for (fd, since) in closingSince where ready < events.count && now - since > 10 {
                stats.violations += 1
                stats.note("no close frame within 10 s of the client's")
                end(fd)
            }

            if now >= nextReport {
                nextReport = now + 0.2
                var snapshot = Report()
                snapshot.generation = generation
                snapshot.connecting = connecting
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
