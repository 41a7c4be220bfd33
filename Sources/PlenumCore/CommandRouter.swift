import Synchronization

/// The one path against the flow: writes from clients to the scripts of the devices that own
/// the channels, through a bounded mailbox per device.
///
/// Transports (WebSocket, REST, the MQTT bridge) call `submit` with a `WriteRequest` and the
/// caller's identity; the router checks the caller may write the channel, finds the device that
/// declared it writable, validates the value against the declaration, applies the channel's
/// rate limit and the device's queue bound, and puts the command in the device's mailbox. The
/// device's thread takes it (`take`, behind `hub.commands`) and answers (`ack`, behind `hub.ack`).
///
/// Exactly one answer per `submit`, always: `completion` runs once, with `ok`, the script's
/// rejection, or why the write did not get that far — `timeout` when the script does not answer
/// in time (the router's own timer thread), `device_unavailable` when the device is not running
/// or stops or crashes before it answers. Every answer is removed from the pending table under
/// the router's lock by whoever gives it, so an ack racing a timeout or a crash answers once.
/// Every attempt, whatever its outcome, is published to `/plenum/audit` and passed to `onAudit`
/// (the hub logs it) before the caller hears the answer.
///
/// `completion` runs on whichever thread settles the write (the submitting thread for refusals,
/// the device thread for acks, the timer thread for timeouts): keep it short and hop to your own
/// thread or event loop.
public final class CommandRouter: Sendable {
    /// Where every attempt is appended.
    public static let auditPath = try! ChannelPath("/plenum/audit")
    /// Versions of `/plenum/audit` the hub keeps unless `channels.history_by_prefix` says otherwise.
    public static let defaultAuditHistory = 1_000

    /// The script's time to answer when its declaration gives none (`commands.timeout_s`).
    public let defaultTimeoutSeconds: Double
    /// Writes waiting for one device, queued and delivered together (`commands.max_queued`).
    public let queueLimit: Int
    private let store: ChannelStore?
    private let onAudit: (@Sendable (AuditRecord) -> Void)?
    let state = Mutex(State())
    let timer: CommandTimer

    /// - Parameters:
    ///   - store: where `/plenum/audit` is published (nil: not published, e.g. in unit tests).
    ///   - defaultTimeoutSeconds: how long a script has to answer unless its declaration says.
    ///   - queueLimit: writes one device may have waiting (beyond: `busy`).
    ///   - onAudit: called with every attempt's record (the hub logs them).
    public init(
        store: ChannelStore? = nil,
        defaultTimeoutSeconds: Double = 5,
        queueLimit: Int = 16,
        onAudit: (@Sendable (AuditRecord) -> Void)? = nil
    ) {
        self.store = store
        self.defaultTimeoutSeconds = defaultTimeoutSeconds
        self.queueLimit = max(1, queueLimit)
        self.onAudit = onAudit
        let expiry = WeakRouter()
        timer = CommandTimer { expiry.router?.expireOverdue() }
        expiry.router = self
    }

    // MARK: - State

    struct Declared {
        var device: String
        var channel: WritableChannel
        var window: RateWindow?
    }

    struct Mailbox {
        /// The attached instance; nil while the device is not running.
        var generation: UInt64?
        /// False once a stop was requested: new writes are refused, delivered ones may still be answered.
        var accepting = false
        var wake: (@Sendable () -> Void)?
        /// Accepted, not yet taken by the script, oldest first.
        var queued: [UInt64] = []
        /// Taken by the script, not yet answered.
        var delivered: Set<UInt64> = []
        /// Why writes are refused while not running.
        var unavailable = "is not running"
        /// How the last few writes ended that the script may still try to answer.
        var settled: [(id: UInt64, code: WriteOutcome.Code)] = []

        var waiting: Int { queued.count + delivered.count }

        mutating func remember(_ id: UInt64, _ code: WriteOutcome.Code) {
            if settled.count >= 64 { settled.removeFirst(settled.count - 63) }
            settled.append((id, code))
        }
    }

    struct Pending {
        var command: Command
        var device: String
        /// The instance it was delivered to (nil while queued).
        var deliveredTo: UInt64?
        var deadline: Deadline
        var timeoutSeconds: Double
        var record: AuditRecord
        var completion: @Sendable (WriteOutcome) -> Void
    }

    struct State {
        var declared: [ChannelPath: Declared] = [:]
        var mailboxes: [String: Mailbox] = [:]
        var pending: [UInt64: Pending] = [:]
        var nextID: UInt64 = 1
        var nextGeneration: UInt64 = 1
    }

    /// A write whose answer is settled, to be published and answered outside the lock.
    struct Settled {
        var record: AuditRecord
        var completion: @Sendable (WriteOutcome) -> Void
    }

    // MARK: - Declarations

    /// Replaces what `device` accepts. A path another device already declared stays with that
    /// device and is returned (`plenum check` refuses such configurations before they get here).
    @discardableResult
    public func declare(device: String, channels: [WritableChannel]) -> [ChannelPath] {
        state.withLock { state in
            var conflicts: [ChannelPath] = []
            let wanted = Set(channels.map(\.path))
            for (path, declared) in state.declared where declared.device == device && !wanted.contains(path) {
                state.declared[path] = nil
            }
            for channel in channels {
                if let existing = state.declared[channel.path], existing.device != device {
                    conflicts.append(channel.path)
                    continue
                }
                var window = state.declared[channel.path]?.window
                if window?.limit != channel.rateLimit { window = channel.rateLimit.map(RateWindow.init) }
                state.declared[channel.path] = Declared(device: device, channel: channel, window: window)
            }
            if state.mailboxes[device] == nil { state.mailboxes[device] = Mailbox() }
            return conflicts
        }
    }

    /// Forgets what `device` accepts (the device was removed from hub.yaml).
    public func removeDevice(_ device: String) {
        state.withLock { state in
            for (path, declared) in state.declared where declared.device == device { state.declared[path] = nil }
            if state.mailboxes[device]?.generation == nil { state.mailboxes[device] = nil }
        }
    }

    /// What every device accepts, sorted by path.
    public var writableChannels: [(device: String, channel: WritableChannel)] {
        state.withLock { state in
            state.declared.values.map { ($0.device, $0.channel) }.sorted { $0.channel.path < $1.channel.path }
        }
    }

    /// What `device` accepts, sorted by path.
    public func writableChannels(of device: String) -> [WritableChannel] {
        writableChannels.filter { $0.device == device }.map(\.channel)
    }

    // MARK: - Settling

    /// Publishes the audit record, reports it, then answers the caller.
    func finish(_ settled: [Settled]) {
        for item in settled {
            store?.publish(Self.auditPath, item.record.json)
            onAudit?(item.record)
            item.completion(item.record.outcome)
        }
    }

    /// Removes pending write `id` and says how it ended (with the lock held).
    static func settle(_ id: UInt64, _ outcome: WriteOutcome, in state: inout State) -> Settled? {
        guard var pending = state.pending.removeValue(forKey: id) else { return nil }
        if var mailbox = state.mailboxes[pending.device] {
            mailbox.queued.removeAll { $0 == id }
            mailbox.delivered.remove(id)
            mailbox.remember(id, outcome.code)
            state.mailboxes[pending.device] = mailbox
        }
        pending.record.outcome = outcome
        return Settled(record: pending.record, completion: pending.completion)
    }

    /// The timer thread: answers `timeout` for every overdue write; returns the next deadline.
    func expireOverdue() -> Deadline? {
        let (settled, next) = state.withLock { state -> ([Settled], Deadline?) in
            var settled: [Settled] = []
            var next: Deadline?
            for (id, pending) in state.pending {
                if pending.deadline.hasPassed {
                    let waited = pending.deliveredTo == nil ? "before the script took it" : "after the script took it"
                    let seconds = WritableChannel.show(pending.timeoutSeconds)
                    let outcome = WriteOutcome(
                        .timeout,
                        "device '\(pending.device)' did not answer within \(seconds) s (\(waited))"
                    )
                    if let item = Self.settle(id, outcome, in: &state) { settled.append(item) }
                } else if next == nil || pending.deadline < next! {
                    next = pending.deadline
                }
            }
            return (settled, next)
        }
        finish(settled)
        return next
    }
}

/// The timer's way back to its router without keeping it alive.
///
/// `@unchecked Sendable` is safe: `router` is set once, in the router's `init`, before the timer
/// can start (it starts on the first accepted write, which needs the finished router), and only
/// read afterwards.
private final class WeakRouter: @unchecked Sendable {
    weak var router: CommandRouter?
}
