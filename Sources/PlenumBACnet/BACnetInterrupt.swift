import Glibc
import PlenumCore
import Synchronization

/// Wakes a `BACnetClient` blocked in a call, from any thread (a device being stopped).
///
/// Race-free by construction: `interrupt()` sets a flag and then writes one byte into a pipe
/// that nothing ever reads, so the pipe's read end stays readable from then on. The client polls
/// its socket and this pipe together and checks the flag before every wait, so an interrupt
/// that lands before the client starts to wait, while it waits, or between two waits is seen
/// at the next `poll` — which returns at once. The descriptors are closed only in `deinit`,
/// when no thread can hold a reference any more, so `interrupt()` never writes to a closed
/// (or reused) descriptor.
public final class BACnetInterrupt: Sendable {
    /// The pipe's read end, polled by the client.
    let descriptor: Int32
    private let writeEnd: Int32
    private let flag = Atomic<Bool>(false)

    public init() throws(BACnetError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw BACnetError(.socket, SystemError("pipe").description) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        descriptor = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(descriptor)
        close(writeEnd)
    }

    /// Makes the client's current and every later blocking call fail with `.interrupted`.
    public func interrupt() {
        flag.store(true, ordering: .sequentiallyConsistent)
        var one: UInt8 = 1
        _ = write(writeEnd, &one, 1)
    }

    public var isInterrupted: Bool { flag.load(ordering: .sequentiallyConsistent) }
}
