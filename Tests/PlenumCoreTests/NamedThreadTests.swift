import PlenumCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.timeLimit(.minutes(1)))
struct NamedThreadTests {
    /// The calling thread's name as `ps -L` shows it.
    static func currentThreadName() -> String {
        let fd = open("/proc/thread-self/comm", O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return "" }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingSuffix("\n")
    }

    @Test func runsItsBodyAndJoins() throws {
        let ran = Mutex(0)
        let thread = try NamedThread(name: "runner") { ran.withLock { $0 += 1 } }
        thread.join()
        #expect(ran.withLock { $0 } == 1)
        thread.join()  // a second join returns at once
        #expect(thread.name == "runner")
    }

    @Test func takesItsNameCutToFifteenBytes() throws {
        let seen = Mutex<[String]>([])
        let short = try NamedThread(name: "modbus :1502") { seen.withLock { $0.append(Self.currentThreadName()) } }
        short.join()
        let long = try NamedThread(name: "mqtt-a-very-long-bridge-name") {
            seen.withLock { $0.append(Self.currentThreadName()) }
        }
        long.join()
        #expect(seen.withLock { $0 } == ["modbus :1502", "mqtt-a-very-lon"])
    }

    @Test func withoutANameKeepsItsCreatorsName() throws {
        let inner = Mutex<String?>(nil)
        let outer = try NamedThread(name: "outer") {
            guard let thread = try? NamedThread(name: nil, { inner.withLock { $0 = Self.currentThreadName() } })
            else { return }
            thread.join()
        }
        outer.join()
        #expect(inner.withLock { $0 } == "outer")
    }

    @Test func runsWithTheStackSizeGiven() throws {
        let ran = Mutex(false)
        let thread = try NamedThread(name: "small stack", stackSize: 256 << 10) { ran.withLock { $0 = true } }
        thread.join()
        #expect(ran.withLock { $0 })
        #expect(throws: SystemError("pthread_attr_setstacksize 1", code: EINVAL)) {
            try NamedThread(name: "no stack", stackSize: 1) {}
        }
    }

    @Test func aDroppedThreadRunsOnDetached() throws {
        let done = Mutex(false)
        let condition = MonotonicCondition()
        _ = try NamedThread(name: "detached") {
            condition.withLock {
                done.withLock { $0 = true }
                condition.broadcast()
            }
        }
        let deadline = try Deadline(seconds: 30)
        let finished = condition.withLock {
            while !done.withLock({ $0 }) {
                if !condition.wait(until: deadline) { break }
            }
            return done.withLock { $0 }
        }
        #expect(finished)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
