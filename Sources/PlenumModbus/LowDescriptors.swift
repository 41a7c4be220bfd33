import Glibc
import Synchronization

/// Descriptor numbers below `FD_SETSIZE` for the sockets and serial ports libmodbus works on.
///
/// libmodbus waits with select(2) (in `modbus_receive`, `modbus_receive_confirmation`,
/// `modbus_flush`), which only handles descriptors below `FD_SETSIZE` (1024): for a higher one
/// glibc aborts the process ("bit out of range 0 - FD_SETSIZE on fd_set"). A hub serving a
/// thousand clients has every number below 1024 in use, so a Modbus connection opened then — a
/// device restarting, a reload, a client of `hub.modbus.serve` — took the whole hub down (found by
/// the soak test, docs/reliability.md).
///
/// So a few numbers below `FD_SETSIZE` are reserved while they are free (the first time Modbus is
/// used: when the first Modbus device starts, before clients connect), each holding /dev/null.
/// `adopt` moves a descriptor at or above `FD_SETSIZE` onto a reserved number (`dup2` replaces the
/// /dev/null in one step); `close` puts /dev/null back the same way, so a reserved number is never
/// free for another thread to take. A descriptor already below `FD_SETSIZE` is used as it is.
/// When every reserved number is in use, `adopt` fails and the Modbus call reports an error: the
/// connection fails, the hub does not.
final class LowDescriptors: Sendable {
    /// glibc's `FD_SETSIZE`.
    static let limit: Int32 = 1024
    /// Reserved numbers: enough for a busy gateway's Modbus connections (a client per device, a
    /// server's `max_connections`) while the hub is over a thousand descriptors.
    static let shared = LowDescriptors(reserve: 64)

    private let null: Int32
    private let reserved: Set<Int32>
    private let available: Mutex<[Int32]>

    init(reserve count: Int) {
        null = open("/dev/null", O_RDWR | O_CLOEXEC)
        var numbers: [Int32] = []
        while null >= 0, numbers.count < count {
            let number = fcntl(null, F_DUPFD_CLOEXEC, 0)
            guard number >= 0 else { break }
            guard number < Self.limit else {
                Glibc.close(number)
                break
            }
            numbers.append(number)
        }
        reserved = Set(numbers)
        available = Mutex(numbers)
    }

    /// `descriptor` itself when it is below `FD_SETSIZE`; otherwise a reserved number now open on
    /// the same file, `descriptor` closed. Nil (and `descriptor` closed) when none is left.
    func adopt(_ descriptor: Int32) -> Int32? {
        guard descriptor >= Self.limit else { return descriptor }
        guard let number = available.withLock({ $0.popLast() }) else {
            Glibc.close(descriptor)
            return nil
        }
        guard duplicate(descriptor, onto: number) else {
            Glibc.close(descriptor)
            release(number)
            return nil
        }
        Glibc.close(descriptor)
        return number
    }

    /// Closes a descriptor `adopt` returned: a reserved number holds /dev/null again and is
    /// available, any other is closed.
    func close(_ descriptor: Int32) {
        guard reserved.contains(descriptor) else {
            Glibc.close(descriptor)
            return
        }
        release(descriptor)
    }

    private func release(_ number: Int32) {
        _ = duplicate(null, onto: number)
        available.withLock { $0.append(number) }
    }

    /// `dup2` (which replaces what `number` held in one step), close-on-exec like every
    /// descriptor the hub opens. (`dup3` is not in Swift's Glibc module.)
    private func duplicate(_ descriptor: Int32, onto number: Int32) -> Bool {
        guard dup2(descriptor, number) == number else { return false }
        _ = fcntl(number, F_SETFD, FD_CLOEXEC)
        return true
    }

    /// Reserved numbers not in use.
    var availableCount: Int { available.withLock { $0.count } }
}
