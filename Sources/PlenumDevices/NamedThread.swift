import Glibc
import PlenumCore

/// Starts `body` on a new detached thread named `name` (the first 15 bytes, the kernel's limit).
///
/// Device scripts get a thread each; `stackSize` bounds the stack the C code may use. Fails when
/// the system refuses another thread (`EAGAIN`: a process or `TasksMax=` limit).
func startThread(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
    final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let start = Unmanaged.passRetained(Start(name: name, body: body))
    var thread = pthread_t()
    let result = pthread_create(
        &thread,
        &attributes,
        { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            setCurrentThreadName(start.name)
            start.body()
            return nil
        },
        start.toOpaque()
    )
    guard result == 0 else {
        start.release()
        throw SystemError("pthread_create \(name)", code: result)
    }
}

/// Runs blocking `body` (joining device threads, waiting out grace periods) on a thread of its
/// own and resumes with its result, so that no thread of Swift's cooperative pool ever blocks.
/// If no thread can be started, `body` runs on the caller's thread rather than not at all.
func onOwnThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        do {
            try startThread(name: name, stackSize: 1 << 20) { continuation.resume(returning: body()) }
        } catch {
            continuation.resume(returning: body())
        }
    }
}

/// Names the calling thread as `ps -L` and `top -H` show it (Glibc's `pthread_setname_np` is not
/// imported into Swift; the kernel takes the name through procfs just the same).
private func setCurrentThreadName(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
