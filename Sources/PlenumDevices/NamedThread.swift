import Glibc

/// Starts `body` on a new detached thread named `name` (the first 15 bytes, the kernel's limit).
///
/// Device scripts get a thread each; `stackSize` bounds the stack the C code may use.
func startThread(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) {
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
    let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
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
        start
    )
    precondition(result == 0, "pthread_create failed: \(String(cString: strerror(result)))")
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
