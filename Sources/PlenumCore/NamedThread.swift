import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An OS thread with a name, for work that blocks (a device script, the trend writer, a
/// socket loop) and so must stay off Swift's cooperative pool and off the event loops.
///
/// The thread starts in `init`, names itself and runs `body`. `join()` waits until `body` has
/// returned. Dropping the object without joining detaches the thread: it runs on, and its
/// resources are freed when it ends — so `_ = try NamedThread(name:…)` starts a detached thread.
///
/// The name is what `top -H`, `ps -L` and `/proc/<pid>/task/<tid>/comm` show, and what threads
/// started from this one inherit; the kernel keeps its first 15 bytes.
public final class NamedThread: Sendable {
    /// The name the thread took; nil when it kept the one it inherited from its creator.
    public let name: String?
    private let thread: pthread_t
    /// Set once `join()` has returned: `deinit` must not detach a joined thread.
    private let joined = Mutex(false)

    /// Starts `body` on a new thread.
    ///
    /// - Parameters:
    ///   - name: The thread's name (the first 15 bytes); nil keeps the name Linux copies from the
    ///     creating thread.
    ///   - stackSize: Bytes of stack for the thread; nil for the system's default (8 MiB on
    ///     Linux, from `ulimit -s`). At least `PTHREAD_STACK_MIN`.
    /// - Throws: `SystemError` when the system refuses another thread (`EAGAIN`: a process or
    ///   `TasksMax=` limit) or the stack size.
    public init(name: String?, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        final class Start {
            let name: String?
            let body: @Sendable () -> Void
            init(name: String?, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        self.name = name
        let label = name ?? "thread"
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize {
            let result = pthread_attr_setstacksize(&attributes, stackSize)
            guard result == 0 else { throw SystemError("pthread_attr_setstacksize \(stackSize)", code: result) }
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            &attributes,
            { argument in
                guard let argument else { return nil }
                let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
                if let name = start.name { NamedThread.nameCurrentThread(name) }
                start.body()
                return nil
            },
            start.toOpaque()
        )
        guard result == 0 else {
            start.release()
            throw SystemError("pthread_create \(label)", code: result)
        }
        self.thread = thread
    }

    deinit {
        if !joined.withLock({ $0 }) { pthread_detach(thread) }
    }

    /// Waits until the thread's `body` has returned (at once if it has). Safe to call more than
    /// once and from several threads; never from the thread itself.
    public func join() {
        joined.withLock { joined in
            guard !joined else { return }
            let result = pthread_join(thread, nil)
            precondition(result == 0, "\(SystemError("pthread_join \(name ?? "thread")", code: result))")
            joined = true
        }
    }

    /// Names the calling thread (Glibc's `pthread_setname_np` is not imported into Swift; the
    /// kernel takes the name through procfs just the same). Best effort: a name is cosmetic.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
