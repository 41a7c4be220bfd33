import Foundation

/// A pseudo-terminal pair standing in for a serial device; the slave is reachable through a
/// stable symlink so a test can make the "device" vanish and come back.
final class PseudoTerminal {
    let master: Int32
    let slavePath: String

    init() {
        var master: Int32 = -1
        var slave: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        precondition(openpty(&master, &slave, &name, nil, nil) == 0, "openpty failed")
        Glibc.close(slave)
        self.master = master
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func write(_ text: String) {
        _ = text.withCString { Glibc.write(master, $0, strlen($0)) }
    }

    func write(bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
    }

    /// Reads what the device side wrote until `count` bytes arrived or `timeout` passed.
    func read(count: Int, timeout: Double = 5) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while received.count < count && Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                let n = Glibc.read(master, &buffer, min(buffer.count, count - received.count))
                if n > 0 { received += buffer[0..<n] }
            }
        }
        return received
    }

    /// Reads what the device side wrote, until `until` appears or `timeout` passes.
    func read(until marker: String, timeout: Double = 5) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        var received = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !received.contains(marker) && Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                let n = Glibc.read(master, &buffer, buffer.count)
                if n > 0 { received += String(decoding: buffer[0..<n], as: UTF8.self) }
            }
        }
        return received
    }

    /// Unplugs the "device".
    func close() { Glibc.close(master) }
}
