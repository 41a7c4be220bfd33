/// The devices' side of the router: attaching a running instance, taking and answering commands.
///
/// The device supervisor attaches an instance when its script starts running and detaches it
/// when the run ends (script returned, crashed, stopped); between the two the device is
/// "available". A stop request first stops new writes (`stopAccepting`); what the script had
/// already taken it may still answer until its run ends. Everything unanswered when an
/// instance detaches is answered `device_unavailable`.
extension CommandRouter {
    /// How `ack` went.
    public enum AckResult: Sendable, Equatable {
        /// The caller got this answer.
        case answered
        /// The write was answered already (`timeout`, `device_unavailable`, or an earlier ack).
        case alreadySettled(WriteOutcome.Code)
        /// No such command was delivered to this instance.
        case unknown
    }

    /// A running instance of `device`: writes are accepted from now on; `wake` is called (on the
    /// submitting thread) whenever one arrives. A previous instance still attached is detached.
    public func attach(device: String, wake: @escaping @Sendable () -> Void) -> CommandLease {
        let (lease, settled) = state.withLock { state -> (CommandLease, [Settled]) in
            var settled: [Settled] = []
            if state.mailboxes[device]?.generation != nil {
                settled = Self.settleAll(
                    of: device,
                    WriteOutcome(.deviceUnavailable, "device '\(device)' was restarted before it answered"),
                    in: &state
                )
            }
            let generation = state.nextGeneration
            state.nextGeneration += 1
            var mailbox = state.mailboxes[device] ?? Mailbox()
            mailbox.generation = generation
            mailbox.accepting = true
            mailbox.wake = wake
            state.mailboxes[device] = mailbox
            return (CommandLease(device: device, generation: generation), settled)
        }
        finish(settled)
        return lease
    }

    /// A stop was requested: new writes are refused with `device_unavailable` (`reason`), and so
    /// are those the script has not taken yet.
    public func stopAccepting(_ lease: CommandLease, reason: String = "is stopping") {
        let settled = state.withLock { state -> [Settled] in
            guard var mailbox = state.mailboxes[lease.device], mailbox.generation == lease.generation else {
                return []
            }
            mailbox.accepting = false
            mailbox.unavailable = reason
            state.mailboxes[lease.device] = mailbox
            let outcome = WriteOutcome(.deviceUnavailable, "device '\(lease.device)' \(reason)")
            return mailbox.queued.compactMap { Self.settle($0, outcome, in: &state) }
        }
        finish(settled)
    }

    /// The instance's run ended: everything it has not answered is answered
    /// `device_unavailable`, and writes are refused (`reason`) until an instance attaches again.
    public func detach(_ lease: CommandLease, reason: String) {
        let settled = state.withLock { state -> [Settled] in
            guard var mailbox = state.mailboxes[lease.device], mailbox.generation == lease.generation else {
                return []
            }
            mailbox.generation = nil
            mailbox.accepting = false
            mailbox.wake = nil
            mailbox.unavailable = reason
            state.mailboxes[lease.device] = mailbox
            return Self.settleAll(
                of: lease.device,
                WriteOutcome(.deviceUnavailable, "device '\(lease.device)' \(reason) before it answered"),
                in: &state
            )
        }
        finish(settled)
    }

    /// Says why writes to a device that is not running are refused (`is in backoff after an
    /// error`, `failed to start`…) while no instance is attached.
    public func setUnavailable(_ device: String, reason: String) {
        state.withLock { state in
            guard var mailbox = state.mailboxes[device], mailbox.generation == nil else { return }
            mailbox.unavailable = reason
            state.mailboxes[device] = mailbox
        }
    }

    /// Whether writes are waiting for the script to take them.
    public func hasQueued(_ lease: CommandLease) -> Bool {
        state.withLock { state in
            guard let mailbox = state.mailboxes[lease.device], mailbox.generation == lease.generation else {
                return false
            }
            return !mailbox.queued.isEmpty
        }
    }

    /// The id of the newest write waiting for the script to take it (nil: none waiting).
    public func newestQueuedID(_ lease: CommandLease) -> UInt64? {
        state.withLock { state in
            guard let mailbox = state.mailboxes[lease.device], mailbox.generation == lease.generation else {
                return nil
            }
            return mailbox.queued.last
        }
    }

    /// Every write waiting for this instance, oldest first; they count as delivered from now on.
    public func take(_ lease: CommandLease) -> [Command] {
        state.withLock { state in
            guard var mailbox = state.mailboxes[lease.device], mailbox.generation == lease.generation,
                !mailbox.queued.isEmpty
            else { return [] }
            var commands: [Command] = []
            for id in mailbox.queued {
                guard var pending = state.pending[id] else { continue }
                pending.deliveredTo = lease.generation
                state.pending[id] = pending
                mailbox.delivered.insert(id)
                commands.append(pending.command)
            }
            mailbox.queued.removeAll()
            state.mailboxes[lease.device] = mailbox
            return commands
        }
    }

    /// The script's answer to command `id`: `ok`, or `rejected` with `message`.
    @discardableResult
    public func ack(_ lease: CommandLease, id: UInt64, ok: Bool, message: String = "") -> AckResult {
        let outcome = ok ? WriteOutcome(.ok, message) : WriteOutcome(.rejected, message.isEmpty ? "rejected" : message)
        let (result, settled) = state.withLock { state -> (AckResult, Settled?) in
            guard let mailbox = state.mailboxes[lease.device], mailbox.generation == lease.generation else {
                return (.unknown, nil)
            }
            guard let pending = state.pending[id], pending.device == lease.device,
                pending.deliveredTo == lease.generation
            else {
                if let code = mailbox.settled.last(where: { $0.id == id })?.code { return (.alreadySettled(code), nil) }
                return (.unknown, nil)
            }
            return (.answered, Self.settle(id, outcome, in: &state))
        }
        if let settled { finish([settled]) }
        return result
    }

    /// Removes every write pending for `device` (with the lock held).
    static func settleAll(of device: String, _ outcome: WriteOutcome, in state: inout State) -> [Settled] {
        guard let mailbox = state.mailboxes[device] else { return [] }
        let ids = mailbox.queued + mailbox.delivered.sorted()
        return ids.compactMap { settle($0, outcome, in: &state) }
    }
}
