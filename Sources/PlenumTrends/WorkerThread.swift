import Glibc
import PlenumCore

/// Starts `body` on a new detached OS thread named `name` (what `top -H` shows; 15 bytes at
/// most): the trend writer and the query thread run off the Swift concurrency pool and off the
/// event loops, so a slow disk blocks only them.
func startWorkerThread(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
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
    let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread,
        &attributes,
        { argument in
            guard let argument else { return nil }
            let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
            let fd = open("/proc/thread-self/comm", O_WRONLY)
            if fd >= 0 {
                let bytes = Array(start.name.utf8.prefix(15))
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            start.body()
            return nil
        },
        start
    )
    if result != 0 {
        Unmanaged<AnyObject>.fromOpaque(start).release()
        throw SystemError("pthread_create \(name)", code: result)
    }
}
