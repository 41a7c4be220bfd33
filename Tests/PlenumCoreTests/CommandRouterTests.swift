import Synchronization
import Testing

@testable import PlenumCore

#if canImport(Glibc)
import Glibc
#endif

/// Answers collected from `completion`s, counted per write so that a second answer shows.
final class Answers: Sendable {
    private let answers = Mutex<[Int: [WriteOutcome]]>([:])

    func completion(_ index: Int) -> @Sendable (WriteOutcome) -> Void {
        { outcome in self.answers.withLock { $0[index, default: []].append(outcome) } }
    }

    subscript(index: Int) -> [WriteOutcome] { answers.withLock { $0[index] ?? [] } }
    var all: [Int: [WriteOutcome]] { answers.withLock { $0 } }

    /// Waits (bounded) until `count` writes have an answer.
    func wait(for count: Int, timeout: Double = 10) -> Bool {
        let deadline = Deadline.now().adding(nanoseconds: UInt64(timeout * 1e9))
        while !deadline.hasPassed {
            if answers.withLock({ $0.count }) >= count { return true }
            usleep(1_000)
        }
        return answers.withLock { $0.count } >= count
    }
}

@Suite struct CommandRouterTests {
    private let setpoint = try! ChannelPath("/plant/c/setpoint")
    private let mode = try! ChannelPath("/plant/c/mode")

    private func write(_ value: JSONValue, to path: ChannelPath? = nil) -> WriteRequest {
        WriteRequest(channel: path ?? setpoint, value: value, via: "test")
    }

    private func router(
        store: ChannelStore? = nil,
        timeout: Double = 5,
        queue: Int = 16,
        rate: WritableChannel.RateLimit? = nil,
        channelTimeout: Double? = nil
    ) -> CommandRouter {
        let router = CommandRouter(store: store, defaultTimeoutSeconds: timeout, queueLimit: queue)
        router.declare(
            device: "chiller",
            channels: [
                WritableChannel(
                    path: setpoint,
                    name: "setpoint",
                    kind: .number,
                    minimum: 4,
                    maximum: 12,
                    rateLimit: rate,
                    timeoutSeconds: channelTimeout
                ),
                WritableChannel(path: mode, name: "mode", kind: .enumeration(["auto", "off"])),
            ]
        )
        return router
    }

    @Test func aWriteReachesTheDeviceAndTheCallerHearsItsAck() throws {
        let store = ChannelStore()
        let router = router(store: store)
        let answers = Answers()
        let woken = Atomic<Int>(0)
        let lease = router.attach(device: "chiller") { woken.add(1, ordering: .relaxed) }
        let alice = CommandCaller(name: "alice") { _ in true }
        router.submit(write(.integer(7)), from: alice, completion: answers.completion(0))
        #expect(woken.load(ordering: .relaxed) == 1)
        #expect(router.hasQueued(lease))
        let commands = router.take(lease)
        #expect(commands.count == 1)
        let command = try #require(commands.first)
        #expect(command.path == setpoint)
        #expect(command.name == "setpoint")
        #expect(command.value == .double(7))
        #expect(command.who == "alice")
        #expect(!router.hasQueued(lease))
        #expect(router.take(lease).isEmpty)
        #expect(answers[0].isEmpty)
        #expect(router.ack(lease, id: command.id, ok: true) == .answered)
        #expect(answers[0] == [.ok])
        #expect(router.ack(lease, id: command.id, ok: false, message: "again") == .alreadySettled(.ok))
        #expect(answers[0] == [.ok])
        let audit = try #require(store.latest(CommandRouter.auditPath)?.value)
        #expect(audit["who"] == .string("alice"))
        #expect(audit["channel"] == .string("/plant/c/setpoint"))
        #expect(audit["value"] == .integer(7))
        #expect(audit["result"] == .string("ok"))
        #expect(audit["via"] == .string("test"))
        #expect(audit["id"] == .integer(Int64(command.id)))
        #expect(audit["ts"]?.numberValue != nil)
    }

    @Test func refusalsAreAnsweredAtOnceAndAuditedLikeAnyAttempt() throws {
        let store = ChannelStore()
        let router = router(store: store)
        let answers = Answers()
        let lease = router.attach(device: "chiller") {}
        let readOnly = CommandCaller(name: "dashboard") { _ in false }
        router.submit(write(.integer(7)), from: readOnly, completion: answers.completion(0))
        router.submit(
            write(.integer(7), to: try ChannelPath("/plant/c/supply_temp")),
            from: .anonymous,
            completion: answers.completion(1)
        )
        router.submit(write(.integer(13)), from: .anonymous, completion: answers.completion(2))
        router.submit(write(.string("7")), from: .anonymous, completion: answers.completion(3))
        router.submit(write(.string("on"), to: mode), from: .anonymous, completion: answers.completion(4))
        router.refuse(
            write(.integer(7)),
            from: .anonymous,
            WriteOutcome(.busy, "too many"),
            completion: answers.completion(5)
        )
        #expect(answers[0] == [WriteOutcome(.forbidden, "'dashboard' may not write /plant/c/setpoint")])
        #expect(answers[1] == [WriteOutcome(.notWritable, "no device accepts writes to /plant/c/supply_temp")])
        #expect(answers[2] == [WriteOutcome(.outOfRange, "13 is above the maximum 12 of /plant/c/setpoint")])
        #expect(answers[3].map(\.code) == [.wrongType])
        #expect(answers[4].map(\.code) == [.outOfRange])
        #expect(answers[5] == [WriteOutcome(.busy, "too many")])
        #expect(router.take(lease).isEmpty)
        let audit = try #require(store.versions(of: CommandRouter.auditPath, after: 0))
        #expect(
            audit.map { $0.value["result"] }
                == ["forbidden", "not_writable", "out_of_range", "wrong_type", "out_of_range", "busy"].map {
                    .string($0)
                }
        )
        #expect(audit.first?.value["who"] == .string("dashboard"))
        #expect(audit.last?.value["who"] == .string("anonymous"))
        #expect(audit[1].value["message"] == .string("no device accepts writes to /plant/c/supply_temp"))
        #expect(audit.allSatisfy { $0.value["id"] == nil })
    }

    @Test func aDeviceThatIsNotRunningAnswersDeviceUnavailable() throws {
        let router = router()
        let answers = Answers()
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(0))
        #expect(answers[0] == [WriteOutcome(.deviceUnavailable, "device 'chiller' is not running")])
        router.setUnavailable("chiller", reason: "is in backoff after an error")
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(1))
        #expect(answers[1] == [WriteOutcome(.deviceUnavailable, "device 'chiller' is in backoff after an error")])

        let lease = router.attach(device: "chiller") {}
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(2))
        router.submit(write(.integer(8)), from: .anonymous, completion: answers.completion(3))
        let taken = router.take(lease)
        #expect(taken.count == 2)
        router.submit(write(.integer(9)), from: .anonymous, completion: answers.completion(4))
        // Stopping: the untaken write is refused at once; the taken ones may still be answered.
        router.stopAccepting(lease, reason: "is stopping")
        #expect(answers[4] == [WriteOutcome(.deviceUnavailable, "device 'chiller' is stopping")])
        router.submit(write(.integer(10)), from: .anonymous, completion: answers.completion(5))
        #expect(answers[5] == [WriteOutcome(.deviceUnavailable, "device 'chiller' is stopping")])
        #expect(router.ack(lease, id: taken[0].id, ok: true) == .answered)
        // The run ends (a crash between delivery and ack): the other one is answered for it.
        router.detach(lease, reason: "crashed")
        #expect(answers[2] == [.ok])
        #expect(answers[3] == [WriteOutcome(.deviceUnavailable, "device 'chiller' crashed before it answered")])
        #expect(router.ack(lease, id: taken[1].id, ok: true) == .unknown)
        #expect(answers[3].count == 1)
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(6))
        #expect(answers[6] == [WriteOutcome(.deviceUnavailable, "device 'chiller' crashed")])
    }

    @Test func aRestartedDeviceAnswersForItsPredecessorAndOnlyForItself() throws {
        let router = router()
        let answers = Answers()
        let first = router.attach(device: "chiller") {}
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(0))
        let taken = try #require(router.take(first).first)
        let second = router.attach(device: "chiller") {}
        #expect(answers[0] == [WriteOutcome(.deviceUnavailable, "device 'chiller' was restarted before it answered")])
        #expect(router.ack(first, id: taken.id, ok: true) == .unknown)
        #expect(router.ack(second, id: taken.id, ok: true) == .alreadySettled(.deviceUnavailable))
        router.submit(write(.integer(8)), from: .anonymous, completion: answers.completion(1))
        #expect(router.take(first).isEmpty)
        let next = try #require(router.take(second).first)
        // A detach of the old instance does nothing to the new one.
        router.detach(first, reason: "stopped")
        #expect(answers[1].isEmpty)
        #expect(router.ack(second, id: next.id, ok: false, message: "compressor locked out") == .answered)
        #expect(answers[1] == [WriteOutcome(.rejected, "compressor locked out")])
    }

    @Test func theScriptHasUntilTheTimeoutToAnswer() throws {
        let router = router(timeout: 30, channelTimeout: 0.05)
        let answers = Answers()
        let lease = router.attach(device: "chiller") {}
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(0))
        let command = try #require(router.take(lease).first)
        #expect(answers.wait(for: 1))
        #expect(
            answers[0]
                == [WriteOutcome(.timeout, "device 'chiller' did not answer within 0.05 s (after the script took it)")]
        )
        #expect(router.ack(lease, id: command.id, ok: true) == .alreadySettled(.timeout))
        // Untaken writes time out too; the default timeout applies to channels without their own.
        let quick = CommandRouter(defaultTimeoutSeconds: 0.02)
        quick.declare(device: "d", channels: [WritableChannel(path: mode, name: "mode", kind: .string)])
        _ = quick.attach(device: "d") {}
        quick.submit(write(.string("x"), to: mode), from: .anonymous, completion: answers.completion(1))
        #expect(answers.wait(for: 2))
        #expect(
            answers[1] == [
                WriteOutcome(.timeout, "device 'd' did not answer within 0.02 s (before the script took it)")
            ]
        )
    }

    @Test func theRateLimitCountsWritesThatReachTheDevice() throws {
        let router = router(rate: WritableChannel.RateLimit(count: 2, seconds: 3_600))
        let answers = Answers()
        let lease = router.attach(device: "chiller") {}
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(0))
        router.submit(write(.integer(99)), from: .anonymous, completion: answers.completion(1))  // out of range
        router.submit(write(.integer(8)), from: .anonymous, completion: answers.completion(2))
        router.submit(write(.integer(9)), from: .anonymous, completion: answers.completion(3))
        #expect(answers[1].map(\.code) == [.outOfRange])
        #expect(answers[3].map(\.code) == [.rateLimited])
        #expect(
            answers[3].first?.message.hasPrefix("/plant/c/setpoint takes at most 2 writes per 3600 s; the next in ")
                == true
        )
        #expect(router.take(lease).map(\.value) == [.double(7), .double(8)])
        // Other channels have their own (here: none).
        for index in 10..<15 {
            router.submit(write(.string("auto"), to: mode), from: .anonymous, completion: answers.completion(index))
        }
        #expect(router.take(lease).count == 5)
        // Redeclaring with the same limit keeps the window.
        router.declare(
            device: "chiller",
            channels: [
                WritableChannel(
                    path: setpoint,
                    kind: .number,
                    rateLimit: WritableChannel.RateLimit(count: 2, seconds: 3_600)
                )
            ]
        )
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(20))
        #expect(answers[20].map(\.code) == [.rateLimited])
        // And a window that has passed admits again.
        let brief = CommandRouter()
        brief.declare(
            device: "d",
            channels: [WritableChannel(path: mode, kind: .string, rateLimit: .init(count: 1, seconds: 0.05))]
        )
        let other = brief.attach(device: "d") {}
        brief.submit(write(.string("a"), to: mode), from: .anonymous, completion: answers.completion(30))
        brief.submit(write(.string("b"), to: mode), from: .anonymous, completion: answers.completion(31))
        #expect(answers[31].map(\.code) == [.rateLimited])
        usleep(80_000)
        brief.submit(write(.string("c"), to: mode), from: .anonymous, completion: answers.completion(32))
        #expect(brief.take(other).map(\.value) == [.string("a"), .string("c")])
    }

    @Test func eachDeviceHoldsABoundedQueue() throws {
        let router = router(queue: 2)
        let answers = Answers()
        let lease = router.attach(device: "chiller") {}
        for index in 0..<3 {
            router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(index))
        }
        #expect(answers[2] == [WriteOutcome(.busy, "device 'chiller' has 2 writes waiting already (the limit)")])
        // Taken but unanswered writes still count.
        let taken = router.take(lease)
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(3))
        #expect(answers[3].map(\.code) == [.busy])
        router.ack(lease, id: taken[0].id, ok: true)
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(4))
        #expect(answers[4].isEmpty)
        #expect(router.take(lease).count == 1)
    }

    @Test func removedDevicesAndChangedDeclarationsTakeEffect() throws {
        let router = router()
        let answers = Answers()
        _ = router.attach(device: "chiller") {}
        router.declare(device: "chiller", channels: [WritableChannel(path: mode, name: "mode", kind: .string)])
        router.submit(write(.integer(7)), from: .anonymous, completion: answers.completion(0))
        #expect(answers[0].map(\.code) == [.notWritable])
        // Another device cannot take a channel over.
        #expect(router.declare(device: "other", channels: [WritableChannel(path: mode, kind: .boolean)]) == [mode])
        #expect(router.writableChannels.map(\.device) == ["chiller"])
        router.removeDevice("chiller")
        router.submit(write(.string("x"), to: mode), from: .anonymous, completion: answers.completion(1))
        #expect(answers[1].map(\.code) == [.notWritable])
    }

    /// Submitters, a device acking, timeouts and restarts all at once: every write gets exactly
    /// one answer and one audit record.
    @Test func everyWriteIsAnsweredExactlyOnceUnderRaces() async throws {
        let audited = Atomic<Int>(0)
        let router = CommandRouter(defaultTimeoutSeconds: 0.002, queueLimit: 8) { _ in
            audited.add(1, ordering: .relaxed)
        }
        router.declare(device: "d", channels: [WritableChannel(path: setpoint, kind: .number)])
        let answers = Answers()
        let lease = Mutex(router.attach(device: "d") {})
        let running = Atomic<Bool>(true)
        let perThread = 2_000
        let threads = 4
        // The device: takes and acks, sometimes late; another thread restarts it now and then.
        let device = try NamedThread(name: "device") {
            var count = 0
            while running.load(ordering: .relaxed) {
                let current = lease.withLock { $0 }
                for command in router.take(current) {
                    count += 1
                    if count % 3 == 0 { usleep(500) }
                    router.ack(current, id: command.id, ok: count % 5 != 0, message: "no")
                }
            }
        }
        let restarter = try NamedThread(name: "restarter") {
            while running.load(ordering: .relaxed) {
                usleep(3_000)
                let old = lease.withLock { $0 }
                router.stopAccepting(old)
                router.detach(old, reason: "restarted")
                let new = router.attach(device: "d") {}
                lease.withLock { $0 = new }
            }
        }
        let submitters = try (0..<threads).map { thread in
            try NamedThread(name: "submitter \(thread)") {
                for index in 0..<perThread {
                    let key = thread * perThread + index
                    router.submit(
                        write(.integer(Int64(index % 10))),
                        from: .anonymous,
                        completion: answers.completion(key)
                    )
                }
            }
        }
        for submitter in submitters { submitter.join() }
        #expect(answers.wait(for: threads * perThread))
        running.store(false, ordering: .relaxed)
        device.join()
        restarter.join()
        let all = answers.all
        #expect(all.count == threads * perThread)
        #expect(all.values.allSatisfy { $0.count == 1 })
        #expect(audited.load(ordering: .relaxed) == threads * perThread)
        let codes = Set(all.values.compactMap { $0.first?.code })
        #expect(codes.isSubset(of: [.ok, .rejected, .timeout, .deviceUnavailable, .busy]))
        #expect(codes.contains(.ok))
    }
}
