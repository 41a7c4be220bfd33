import Glibc

enum Signals {
    /// A parent may start us with SIGTERM/SIGINT/SIGHUP blocked (test runners do); a daemon must
    /// see them to shut down or reload, so unblock them before any thread starts.
    static func unblockShutdownSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
