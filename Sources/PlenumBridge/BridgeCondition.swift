import Glibc
import PlenumCore

/// A pthread mutex with one condition variable on `CLOCK_MONOTONIC`: guards a bridge's state,
/// shared by its own thread, libmosquitto's network thread and the publishers that wake it.
///
/// `@unchecked Sendable` is safe: the pthread objects live in heap memory owned by this object
/// and are only used through the pthread functions, which are thread-safe by contract.
final class BridgeCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// With the lock held: wakes the bridge's thread.
    func broadcast() { pthread_cond_broadcast(cond) }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// With the lock held: waits for a broadcast or `deadline`; false once the deadline passed.
    /// May return early: callers re-check their condition.
    @discardableResult
    func wait(until deadline: Deadline) -> Bool {
        guard var time = deadline.monotonicTimespec else {
            pthread_cond_wait(cond, mutex)
            return true
        }
        return pthread_cond_timedwait(cond, mutex, &time) != ETIMEDOUT
    }
}

/// Starts `body` on a new detached thread named `name` (the kernel keeps 15 bytes of it).
func startBridgeThread(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
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
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let start = Unmanaged.passRetained(Start(name: name, body: body))
    var thread = pthread_t()
    let result = pthread_create(
        &thread,
        &attributes,
        { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            nameCurrentThread(start.name)
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

/// Names the calling thread as `top -H` and `ps -L` show it (and as threads it starts inherit).
func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
