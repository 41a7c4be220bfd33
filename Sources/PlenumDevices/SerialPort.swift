import Glibc
import PlenumCore

/// A serial port in raw mode (termios), read with timeouts; owned by one device thread.
///
/// Bytes pass unchanged in both directions. A vanished device (USB unplugged) shows up as an
/// error from `readLine`/`read`/`write`, which the script can catch with `pcall` and retry by
/// opening the port again.
final class SerialPort {
    struct Options {
        var baud = 9_600
        var dataBits = 8
        /// "none", "even" or "odd".
        var parity = "none"
        var stopBits = 1
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    private var fd: Int32
    private var pending: [UInt8] = []

    static let speeds: [Int: speed_t] = [
        1_200: speed_t(B1200), 2_400: speed_t(B2400), 4_800: speed_t(B4800), 9_600: speed_t(B9600),
        19_200: speed_t(B19200), 38_400: speed_t(B38400), 57_600: speed_t(B57600), 115_200: speed_t(B115200),
        230_400: speed_t(B230400),
    ]

    /// What a script is told for any path that is not a character device — missing, a regular
    /// file, a directory, or unreachable — so that a script cannot probe which files exist.
    static func notADevice(_ path: String) -> Failure {
        Failure(description: "cannot open \(path): not a serial device")
    }

    init(path: String, options: Options) throws(Failure) {
        guard let speed = Self.speeds[options.baud] else {
            throw Failure(description: "unsupported baud rate \(options.baud); use one of \(Self.speeds.keys.sorted())")
        }
        guard (5...8).contains(options.dataBits) else {
            throw Failure(description: "data_bits must be 5, 6, 7 or 8")
        }
        guard ["none", "even", "odd"].contains(options.parity) else {
            throw Failure(description: "parity must be \"none\", \"even\" or \"odd\"")
        }
        guard options.stopBits == 1 || options.stopBits == 2 else {
            throw Failure(description: "stop_bits must be 1 or 2")
        }
        // Only character devices are opened (opening a FIFO or a file read-write has effects of
        // its own); checked before open, and again on what open returned in case the path was
        // swapped in between.
        var info = stat()
        guard stat(path, &info) == 0, Self.isCharacterDevice(info) else { throw Self.notADevice(path) }
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: SystemError("cannot open \(path)").description) }
        self.path = path
        guard fstat(fd, &info) == 0, Self.isCharacterDevice(info) else {
            closePort()
            throw Self.notADevice(path)
        }
        var tio = termios()
        guard tcgetattr(fd, &tio) == 0 else {
            let error = SystemError("\(path) is not a serial port")
            closePort()
            throw Failure(description: error.description)
        }
        cfmakeraw(&tio)
        cfsetispeed(&tio, speed)
        cfsetospeed(&tio, speed)
        let sizes: [Int: Int32] = [5: CS5, 6: CS6, 7: CS7, 8: CS8]
        tio.c_cflag &= ~tcflag_t(CSIZE | PARENB | PARODD | CSTOPB)
        tio.c_cflag |= tcflag_t((sizes[options.dataBits] ?? CS8) | CLOCAL | CREAD)
        if options.parity != "none" { tio.c_cflag |= tcflag_t(PARENB) }
        if options.parity == "odd" { tio.c_cflag |= tcflag_t(PARODD) }
        if options.stopBits == 2 { tio.c_cflag |= tcflag_t(CSTOPB) }
        guard tcsetattr(fd, TCSANOW, &tio) == 0 else {
            let error = SystemError("cannot configure \(path)")
            closePort()
            throw Failure(description: error.description)
        }
    }

    private static func isCharacterDevice(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFCHR }

    deinit { closePort() }

    func closePort() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Waits for input until `deadline`, in slices of at most 100 ms so a stop is noticed; polls
    /// once even when the deadline has already passed. Returns false on timeout or stop.
    private func waitReadable(until deadline: Deadline, stopping: () -> Bool) throws(Failure) -> Bool {
        guard fd >= 0 else { throw Failure(description: "serial port \(path) is closed") }
        while true {
            if stopping() { return false }
            let slice = deadline.remainingMilliseconds(cappedAt: 100)
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, slice)
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(description: SystemError("serial port \(path): poll").description)
            }
            if ready > 0 {
                if poller.revents & Int16(POLLNVAL) != 0 { throw Failure(description: "serial port \(path) is closed") }
                if poller.revents & Int16(POLLIN) != 0 { return true }
                if poller.revents & Int16(POLLHUP | POLLERR) != 0 {
                    throw Failure(description: "serial port \(path) disconnected")
                }
            }
            if slice == 0 { return false }
        }
    }

    /// Reads what is available into `pending`.
    private func fill() throws(Failure) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(fd, &buffer, buffer.count)
        if n > 0 {
            pending.append(contentsOf: buffer[0..<n])
        } else if n == 0 {
            throw Failure(description: "serial port \(path) disconnected")
        } else if errno != EAGAIN && errno != EINTR {
            throw Failure(description: SystemError("serial port \(path) disconnected").description)
        }
    }

    /// A line without its `\n` (and `\r`), or nil on timeout/stop.
    func readLine(until deadline: Deadline, stopping: () -> Bool) throws(Failure) -> [UInt8]? {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if pending.count > 65_536 {
                throw Failure(description: "serial port \(path): line longer than 65536 bytes")
            }
            guard try waitReadable(until: deadline, stopping: stopping) else { return nil }
            try fill()
        }
    }

    /// Up to `count` bytes (at least one), or nil on timeout/stop.
    func read(count: Int, until deadline: Deadline, stopping: () -> Bool) throws(Failure) -> [UInt8]? {
        while pending.isEmpty {
            guard try waitReadable(until: deadline, stopping: stopping) else { return nil }
            try fill()
        }
        let n = min(count, pending.count)
        let out = Array(pending[..<n])
        pending.removeFirst(n)
        return out
    }

    func write(_ bytes: [UInt8]) throws(Failure) {
        guard fd >= 0 else { throw Failure(description: "serial port \(path) is closed") }
        var offset = 0
        var attempts = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) && attempts < 200 {
                attempts += 1
                usleep(5_000)
                continue
            }
            throw Failure(description: SystemError("serial port \(path) disconnected").description)
        }
    }
}
