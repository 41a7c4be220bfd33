import Logging
import PlenumCore
import PlenumLua

/// What the `hub` functions of one script run act on. Confined to the device's thread.
final class DeviceContext {
    let spec: DeviceSpec
    let store: ChannelStore
    let logger: Logger
    let signal: DeviceSignal
    let metrics: DeviceMetrics
    /// Where clients' writes to this device wait, and this run's place there (nil when the hub
    /// takes no writes).
    let commands: CommandRouter?
    var lease: CommandLease?
    /// The newest write `hub.wait` has announced with `nil, "commands"` (each only once).
    private var announcedCommand: UInt64 = 0

    /// Writes up to `id` were taken: `hub.wait` does not announce them again.
    func announcedCommandUpTo(_ id: UInt64) { announcedCommand = max(announcedCommand, id) }
    /// Publishes not yet added to `metrics.publishes` (flushed at each blocking call, so the hot
    /// path costs an integer increment).
    private var unreportedPublishes = 0
    private var paths: [String: ChannelPath] = [:]
    private var ports: [Int: SerialPort] = [:]
    private var nextPortID = 1

    init(
        spec: DeviceSpec,
        store: ChannelStore,
        logger: Logger,
        signal: DeviceSignal,
        metrics: DeviceMetrics,
        commands: CommandRouter? = nil
    ) {
        self.commands = commands
        self.spec = spec
        self.store = store
        self.logger = logger
        self.signal = signal
        self.metrics = metrics
    }

    /// Reports publishes and heap size; called when the script blocks and when a run ends.
    func flushMetrics(memoryInUse: Int) {
        if unreportedPublishes > 0 {
            metrics.publishes.increment(by: Int64(unreportedPublishes))
            unreportedPublishes = 0
        }
        metrics.memoryBytes.record(memoryInUse)
    }

    // MARK: - Channels

    /// Resolves (and caches) a path argument: absolute, or relative to the device prefix.
    private func path(_ args: LuaArguments, _ index: Int, function: String) -> Result<ChannelPath, HubError> {
        guard let text = args.string(index) else {
            return .failure(
                HubError("bad argument #\(index) to '\(function)' (path string expected, got \(args.typeName(index)))")
            )
        }
        if let cached = paths[text] { return .success(cached) }
        do {
            let resolved = try spec.prefix.resolving(text)
            if paths.count < 10_000 { paths[text] = resolved }
            return .success(resolved)
        } catch {
            return .failure(HubError("\(function): '\(text)' is not a valid channel path: \(error)"))
        }
    }

    func publish(_ args: LuaArguments) -> HostReturn {
        let target: ChannelPath
        switch path(args, 1, function: "hub.publish") {
        case .success(let p): target = p
        case .failure(let e): return .error(e.message)
        }
        if target.isReserved {
            return .error("hub.publish: '\(target)' is in /plenum/, which is reserved for the hub's own channels")
        }
        let value: LuaValue
        do {
            value = try args.value(2)
        } catch {
            return .error(
                "hub.publish: cannot publish the value\(error.path.dropFirst("argument 2".count)): \(error.reason)"
            )
        }
        unreportedPublishes += 1
        return .one(.integer(Int64(store.publish(target, value.json).version)))
    }

    func read(_ args: LuaArguments) -> HostReturn {
        let target: ChannelPath
        switch path(args, 1, function: "hub.read") {
        case .success(let p): target = p
        case .failure(let e): return .error(e.message)
        }
        guard let version = store.latest(target) else { return .one(.nil) }
        return .many([LuaValue(version.value), .integer(Int64(version.version)), .integer(version.timestamp)])
    }

    /// `hub.wait(target, since, timeout)` — see docs/plugins.md.
    func wait(_ args: LuaArguments) -> HostReturn {
        guard let text = args.string(1) else {
            return .error("bad argument #1 to 'hub.wait' (path or pattern string expected, got \(args.typeName(1)))")
        }
        let absolute = text.hasPrefix("/") ? text : spec.prefix.string + "/" + text
        let pattern: ChannelPattern
        do {
            pattern = try ChannelPattern(absolute)
        } catch {
            return .error("hub.wait: '\(text)' is not a valid path or pattern: \(error)")
        }
        var sinceAll: UInt64?
        var sincePerChannel: [String: UInt64] = [:]
        if let number = args.integer(2) {
            sinceAll = UInt64(max(0, number))
        } else if !args.isNil(2) {
            guard case .table(let table)? = try? args.value(2) else {
                return .error(
                    "bad argument #2 to 'hub.wait' (version number, table of versions by path, or nil expected)"
                )
            }
            for (key, value) in table {
                if case .integer(let v) = value { sincePerChannel[key] = UInt64(max(0, v)) }
            }
        }
        let deadline: Deadline
        switch Self.deadline(args, 3, function: "hub.wait", defaultSeconds: .infinity) {
        case .success(let d): deadline = d
        case .failure(let e): return .error(e.message)
        }
        let hasSince = sinceAll != nil || !sincePerChannel.isEmpty || !args.isNil(2)
        func isNewer(_ version: ChannelVersion) -> Bool {
            if let sinceAll { return version.version > sinceAll }
            return version.version > sincePerChannel[version.path.string] ?? 0
        }
        let signal = self.signal
        let feed = store.makeFeed(filter: pattern) { signal.poke() }
        defer { store.removeFeed(feed) }
        var generation = signal.currentGeneration
        if hasSince {
            let current =
                pattern.isExact
                ? (try? ChannelPath(absolute)).flatMap { store.latest($0) }.map { [$0] } ?? []
                : store.snapshot(matching: [pattern])
            let newer = current.filter(isNewer)
            if !newer.isEmpty { return .one(changes(newer)) }
        }
        while true {
            let changed = store.drain(feed).filter { hasSince ? isNewer($0) : true }
            if !changed.isEmpty { return .one(changes(changed)) }
            if signal.isStopping { return .many([.nil, .string("stopping")]) }
            if let commands, let lease, let newest = commands.newestQueuedID(lease), newest > announcedCommand {
                announcedCommand = newest
                return .many([.nil, .string("commands")])
            }
            if deadline.hasPassed { return .many([.nil, .string("timeout")]) }
            generation = signal.waitForPoke(after: generation, until: deadline)
        }
    }

    private func changes(_ versions: [ChannelVersion]) -> LuaValue {
        .array(
            versions.map { v in
                .table([
                    "channel": .string(v.path.string), "version": .integer(Int64(v.version)),
                    "ts": .integer(v.timestamp), "value": LuaValue(v.value),
                ])
            }
        )
    }

    // MARK: - Time and logging

    func sleep(_ args: LuaArguments) -> HostReturn {
        guard !args.isNil(1) else {
            return .error("bad argument #1 to 'hub.sleep' (number of seconds expected, got no value)")
        }
        switch Self.deadline(args, 1, function: "hub.sleep", defaultSeconds: 0) {
        case .success(let deadline): return .one(.boolean(signal.sleep(until: deadline)))
        case .failure(let e): return .error(e.message)
        }
    }

    /// A duration argument as a monotonic deadline: nil (or absent) is `defaultSeconds`,
    /// `math.huge` is no limit, NaN and negative durations are errors naming the argument.
    /// `index` is the argument's position as the script wrote it.
    static func deadline(
        _ args: LuaArguments,
        _ index: Int,
        function: String,
        defaultSeconds: Double,
        shownAs shown: Int? = nil
    ) -> Result<Deadline, HubError> {
        let seconds: Double
        if args.isNil(index) {
            seconds = defaultSeconds
        } else if let number = args.number(index) {
            seconds = number
        } else {
            return .failure(
                HubError(
                    "bad argument #\(shown ?? index) to '\(function)' (number of seconds expected, got \(args.typeName(index)))"
                )
            )
        }
        do {
            return .success(try Deadline(seconds: seconds))
        } catch {
            return .failure(HubError("bad argument #\(shown ?? index) to '\(function)' (\(error))"))
        }
    }

    func log(_ level: String, _ args: LuaArguments) -> HostReturn {
        var parts: [String] = []
        for i in 1...max(args.count, 1) where i <= args.count {
            if let s = args.string(i) {
                parts.append(s)
            } else if let bytes = args.bytes(i) {
                parts.append(Self.escaped(bytes))
            } else if let value = try? args.value(i) {
                parts.append(value.json.jsonString)
            } else {
                parts.append("<\(args.typeName(i))>")
            }
        }
        let message = Logger.Message(stringLiteral: parts.joined(separator: " "))
        switch level {
        case "debug": logger.debug(message)
        case "warn": logger.warning(message)
        case "error": logger.error(message)
        default: logger.info(message)
        }
        return .none
    }

    /// Text for the log: valid UTF-8 as is, other bytes as `\\xNN`.
    static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < bytes.count {
            var end = index
            while end < bytes.count && bytes[end] < 0x80 { end += 1 }
            out += String(decoding: bytes[index..<end], as: UTF8.self)
            if end < bytes.count {
                let width = bytes[end] >= 0xF0 ? 4 : bytes[end] >= 0xE0 ? 3 : 2
                let slice = bytes[end..<min(bytes.count, end + width)]
                if let text = String(validating: slice, as: UTF8.self) {
                    out += text
                    end += slice.count
                } else {
                    out += "\\x" + String(bytes[end], radix: 16, uppercase: true).leftPadded(to: 2)
                    end += 1
                }
            }
            index = end
        }
        return out
    }

    // MARK: - Serial ports

    func serialOpen(_ args: LuaArguments) -> HostReturn {
        guard let path = args.string(1) else {
            return .error("bad argument #1 to 'hub.serial.open' (device path expected, got \(args.typeName(1)))")
        }
        var options = SerialPort.Options()
        if !args.isNil(2) {
            guard case .table(let table)? = try? args.value(2) else {
                return .error("bad argument #2 to 'hub.serial.open' (options table expected)")
            }
            for (key, value) in table {
                switch (key, value) {
                case ("baud", .integer(let v)): options.baud = Int(v)
                case ("data_bits", .integer(let v)): options.dataBits = Int(v)
                case ("stop_bits", .integer(let v)): options.stopBits = Int(v)
                case ("parity", .string(let v)): options.parity = v
                default:
                    return .error(
                        "hub.serial.open: unknown or mistyped option '\(key)' (baud, data_bits, parity, stop_bits)"
                    )
                }
            }
        }
        do {
            let port = try SerialPort(path: path, options: options)
            let id = nextPortID
            nextPortID += 1
            ports[id] = port
            return .one(.integer(Int64(id)))
        } catch {
            return .error("hub.serial.open: \(error)")
        }
    }

    private func port(_ args: LuaArguments) -> SerialPort? {
        args.integer(1).flatMap { ports[Int($0)] }
    }

    /// `port:read_line(timeout)` (argument 1 is the port's id): the line's bytes, unchanged.
    func serialReadLine(_ args: LuaArguments) -> HostReturn {
        guard let port = port(args) else { return .error("serial port is closed") }
        let deadline: Deadline
        switch Self.deadline(args, 2, function: "read_line", defaultSeconds: 1, shownAs: 1) {
        case .success(let d): deadline = d
        case .failure(let e): return .error(e.message)
        }
        do {
            guard let line = try port.readLine(until: deadline, stopping: { signal.isStopping }) else {
                return .one(.nil)
            }
            return .one(.bytes(line))
        } catch {
            return .error(error.description)
        }
    }

    /// `port:read(count, timeout)`: up to `count` bytes, unchanged.
    func serialRead(_ args: LuaArguments) -> HostReturn {
        guard let port = port(args) else { return .error("serial port is closed") }
        var count = 1
        if !args.isNil(2) {
            guard let requested = args.integer(2) else {
                return .error("bad argument #1 to 'read' (integer byte count expected)")
            }
            count = Int(min(max(requested, 1), 1 << 20))
        }
        let deadline: Deadline
        switch Self.deadline(args, 3, function: "read", defaultSeconds: 1, shownAs: 2) {
        case .success(let d): deadline = d
        case .failure(let e): return .error(e.message)
        }
        do {
            guard let bytes = try port.read(count: count, until: deadline, stopping: { signal.isStopping })
            else { return .one(.nil) }
            return .one(.bytes(bytes))
        } catch {
            return .error(error.description)
        }
    }

    /// `port:write(data)`: the string's bytes, unchanged.
    func serialWrite(_ args: LuaArguments) -> HostReturn {
        guard let port = port(args) else { return .error("serial port is closed") }
        guard let bytes = args.bytes(2) else {
            return .error("bad argument #1 to 'write' (string expected, got \(args.typeName(2)))")
        }
        do {
            try port.write(bytes)
            return .one(.boolean(true))
        } catch {
            return .error(error.description)
        }
    }

    func serialClose(_ args: LuaArguments) -> HostReturn {
        if let id = args.integer(1), let port = ports.removeValue(forKey: Int(id)) { port.closePort() }
        return .none
    }

    func closeAllPorts() {
        for port in ports.values { port.closePort() }
        ports.removeAll()
    }
}

/// A message for a `hub` function's error.
struct HubError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension ChannelPath {
    /// `/plenum/…` belongs to the hub (device status); scripts may read it but not publish there.
    var isReserved: Bool { string.utf8.starts(with: "/plenum/".utf8) }
}
