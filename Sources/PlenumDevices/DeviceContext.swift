import FoundationEssentials
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
    /// Publishes not yet added to `metrics.publishes` (flushed at each blocking call, so the hot
    /// path costs an integer increment).
    private var unreportedPublishes = 0
    private var paths: [String: ChannelPath] = [:]
    private var ports: [Int: SerialPort] = [:]
    private var nextPortID = 1

    init(spec: DeviceSpec, store: ChannelStore, logger: Logger, signal: DeviceSignal, metrics: DeviceMetrics) {
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
        let timeout = args.number(3) ?? 3_600 * 24 * 365
        guard timeout >= 0 else { return .error("hub.wait: the timeout must not be negative") }
        let hasSince = sinceAll != nil || !sincePerChannel.isEmpty || !args.isNil(2)
        func isNewer(_ version: ChannelVersion) -> Bool {
            if let sinceAll { return version.version > sinceAll }
            return version.version > sincePerChannel[version.path.string] ?? 0
        }
        let signal = self.signal
        let feed = store.makeFeed(filter: pattern) { signal.poke() }
        defer { store.removeFeed(feed) }
        let deadline = Date().addingTimeInterval(timeout)
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
            if Date() >= deadline { return .many([.nil, .string("timeout")]) }
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
        guard let seconds = args.number(1), seconds >= 0, seconds.isFinite else {
            return .error("bad argument #1 to 'hub.sleep' (non-negative number of seconds expected)")
        }
        return .one(.boolean(signal.sleep(until: Date().addingTimeInterval(seconds))))
    }

    func log(_ level: String, _ args: LuaArguments) -> HostReturn {
        var parts: [String] = []
        for i in 1...max(args.count, 1) where i <= args.count {
            if let s = args.string(i) {
                parts.append(s)
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

    // MARK: - Serial ports

    func serialOpen(_ args: LuaArguments) -> HostReturn {
        guard let path = args.string(1) else {
            return .error("bad argument #1 to 'hub.serial.open' (device path expected)")
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

    func serialReadLine(_ args: LuaArguments) -> HostReturn {
        guard let port = port(args) else { return .error("serial port is closed") }
        let timeout = args.number(2) ?? 1
        do {
            guard let line = try port.readLine(timeout: timeout, stopping: { signal.isStopping }) else {
                return .one(.nil)
            }
            return .one(.string(String(decoding: line, as: UTF8.self)))
        } catch {
            return .error(error.description)
        }
    }

    func serialRead(_ args: LuaArguments) -> HostReturn {
        guard let port = port(args) else { return .error("serial port is closed") }
        let count = Int(args.integer(2) ?? 1)
        let timeout = args.number(3) ?? 1
        do {
            guard let bytes = try port.read(count: max(1, count), timeout: timeout, stopping: { signal.isStopping })
            else { return .one(.nil) }
            return .one(.string(String(decoding: bytes, as: UTF8.self)))
        } catch {
            return .error(error.description)
        }
    }

    func serialWrite(_ args: LuaArguments) -> HostReturn {
        guard let port = port(args) else { return .error("serial port is closed") }
        guard let text = args.string(2) else { return .error("bad argument to 'write' (string expected)") }
        do {
            try port.write(Array(text.utf8))
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

extension ChannelPath {
    /// `/plenum/…` belongs to the hub (device status); scripts may read it but not publish there.
    var isReserved: Bool { string.utf8.starts(with: "/plenum/".utf8) }
}
