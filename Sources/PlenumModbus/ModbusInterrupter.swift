internal import CModbus
import Glibc
import PlenumCore
import Synchronization

/// Wakes a `ModbusClient` blocked in a call, from any thread; once interrupted, always.
///
/// The client never waits inside libmodbus for a response to begin: it sends the request, then
/// `poll`s its socket or serial port together with this interrupter's `eventfd`, and only calls
/// into libmodbus to read the frame once bytes have arrived (the rest of a frame must follow
/// within a short bound, see `ModbusClient`). Connecting waits the same way.
///
/// Why this is race-free:
/// - `interrupt()` sets a flag and then makes the eventfd readable. The eventfd is never read
///   back, so it stays readable: a wait that begins after `interrupt()` returns at once, and a
///   wait already in `poll` wakes. There is no window between "check the flag" and "block" in
///   which an interrupt can be lost — the kernel object, not a timing, carries it.
/// - The eventfd is created in `init` and closed only in `deinit`, when no thread holds this
///   object any more, so `interrupt()` can never write to a descriptor number that was closed
///   and reused by someone else (the classic `shutdown(fd)`-from-another-thread race).
/// - The socket or serial port itself is touched only by the client's own thread; the other
///   thread never closes or shuts it down.
///
/// `Sendable`: its state is the atomic flag and an immutable descriptor whose `write` is
/// thread-safe.
public final class ModbusInterrupter: Sendable {
    let descriptor: Int32
    private let flag = Atomic<Bool>(false)

    public init() throws(ModbusError) {
        descriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard descriptor >= 0 else {
            throw ModbusError(.connection, "cannot create an interrupter: \(SystemError("eventfd"))")
        }
    }

    deinit { close(descriptor) }

    /// From any thread: the blocked call (or the next one) fails with `.interrupted` promptly.
    public func interrupt() {
        flag.store(true, ordering: .sequentiallyConsistent)
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(descriptor, $0.baseAddress, 8) }
    }

    public var isInterrupted: Bool { flag.load(ordering: .sequentiallyConsistent) }
}
