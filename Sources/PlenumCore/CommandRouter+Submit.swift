/// The transports' side of the router: submitting writes and recording refusals.
extension CommandRouter {
    /// Asks for `write` on behalf of `caller`; `completion` runs exactly once with the outcome
    /// (see the type's documentation for the order of checks and who answers).
    public func submit(
        _ write: WriteRequest,
        from caller: CommandCaller,
        completion: @escaping @Sendable (WriteOutcome) -> Void
    ) {
        let record = AuditRecord(
            who: caller.auditName,
            channel: write.channel,
            value: write.value,
            via: write.via,
            timestamp: ChannelStore.nowMicros(),
            outcome: .ok
        )
        guard caller.mayWrite(write.channel) else {
            let outcome = WriteOutcome(.forbidden, "'\(caller.auditName)' may not write \(write.channel)")
            return refuse(record, outcome, completion)
        }
        enum Decision {
            case refused(WriteOutcome)
            case accepted(id: UInt64, deadline: Deadline, wake: (@Sendable () -> Void)?)
        }
        let decision = state.withLock { state -> Decision in
            guard var declared = state.declared[write.channel] else {
                return .refused(WriteOutcome(.notWritable, "no device accepts writes to \(write.channel)"))
            }
            let value: JSONValue
            switch declared.channel.validate(write.value) {
            case .success(let valid): value = valid
            case .failure(let refusal): return .refused(refusal)
            }
            let device = declared.device
            guard var mailbox = state.mailboxes[device], mailbox.generation != nil, mailbox.accepting else {
                let why = state.mailboxes[device]?.unavailable ?? "is not running"
                return .refused(WriteOutcome(.deviceUnavailable, "device '\(device)' \(why)"))
            }
            guard mailbox.waiting < queueLimit else {
                return .refused(
                    WriteOutcome(.busy, "device '\(device)' has \(mailbox.waiting) writes waiting already (the limit)")
                )
            }
            let now = Deadline.monotonicNanoseconds()
            if var window = declared.window {
                guard window.admit(at: now) else {
                    let wait = (window.secondsUntilFree(at: now) * 10).rounded(.up) / 10
                    let limit = window.limit
                    return .refused(
                        WriteOutcome(
                            .rateLimited,
                            "\(write.channel) takes at most \(limit.count) writes per \(WritableChannel.show(limit.seconds)) s; the next in \(wait) s"
                        )
                    )
                }
                declared.window = window
                state.declared[write.channel] = declared
            }
            let seconds = declared.channel.timeoutSeconds ?? defaultTimeoutSeconds
            let deadline = (try? Deadline(uptimeNanoseconds: now).adding(seconds: seconds)) ?? .never
            let id = state.nextID
            state.nextID += 1
            var accepted = record
            accepted.commandID = id
            state.pending[id] = Pending(
                command: Command(
                    id: id,
                    path: write.channel,
                    name: declared.channel.name,
                    value: value,
                    who: caller.auditName
                ),
                device: device,
                deadline: deadline,
                timeoutSeconds: seconds,
                record: accepted,
                completion: completion
            )
            mailbox.queued.append(id)
            state.mailboxes[device] = mailbox
            return .accepted(id: id, deadline: deadline, wake: mailbox.wake)
        }
        switch decision {
        case .refused(let outcome):
            refuse(record, outcome, completion)
        case .accepted(let id, let deadline, let wake):
            if !deadline.isNever, !timer.schedule(deadline) {
                // Without a timer the write could wait forever: refuse it instead.
                let outcome = WriteOutcome(.busy, "the hub cannot start its command timer (no threads left)")
                let settled = state.withLock { Self.settle(id, outcome, in: &$0) }
                finish(settled.map { [$0] } ?? [])
                return
            }
            wake?()
        }
    }

    /// Records and answers a write refused before it reached the router's checks (a transport's
    /// own limit, such as `server.max_pending_writes`), so that it is audited like any other.
    public func refuse(
        _ write: WriteRequest,
        from caller: CommandCaller,
        _ outcome: WriteOutcome,
        completion: @escaping @Sendable (WriteOutcome) -> Void
    ) {
        let record = AuditRecord(
            who: caller.auditName,
            channel: write.channel,
            value: write.value,
            via: write.via,
            timestamp: ChannelStore.nowMicros(),
            outcome: outcome
        )
        refuse(record, outcome, completion)
    }

    private func refuse(
        _ record: AuditRecord,
        _ outcome: WriteOutcome,
        _ completion: @escaping @Sendable (WriteOutcome) -> Void
    ) {
        var record = record
        record.outcome = outcome
        finish([Settled(record: record, completion: completion)])
    }
}
