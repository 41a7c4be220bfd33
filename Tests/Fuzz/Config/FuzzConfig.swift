import PlenumConfig
import PlenumCore
import PlenumFuzzSupport

/// Fuzz target: hub.yaml bytes → `HubConfig`, the path `plenum check`, `plenum run` and a SIGHUP
/// reload take. Any input must give either a configuration within every documented range or
/// located diagnostics; a crash, a hang (`-timeout`), or growth past `-rss_limit_mb` is a finding.
@main enum FuzzConfig {
    static func main() { FuzzDriver.main() }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Scripts resolve against "/": a seed names `/dev/null` to get a complete device.
    do {
        let config = try ConfigLoader.parse(bytes, file: "fuzz.yaml", baseDirectory: "/")
        check(config)
    } catch {
        for diagnostic in error.diagnostics {
            invariant(diagnostic.line >= 1 && diagnostic.column >= 1, "unlocated diagnostic \(diagnostic)")
            invariant(!diagnostic.message.isEmpty, "empty message at \(diagnostic.line):\(diagnostic.column)")
            _ = diagnostic.description
        }
        invariant(!error.diagnostics.isEmpty, "a ConfigError without diagnostics")
    }
    return 0
}

/// What a valid configuration promises (docs/configuration.md).
private func check(_ config: HubConfig) {
    let server = config.server
    invariant(ServerConfig.portRange.contains(server.port), "port \(server.port)")
    invariant(ServerConfig.tickMillisecondsRange.contains(server.tickMilliseconds), "tick")
    invariant(ServerConfig.eventLoopsRange.contains(server.eventLoops), "event loops")
    invariant(ServerConfig.maxConnectionsRange.contains(server.maxConnections), "connections")
    invariant(ServerConfig.maxSubscriptionsRange.contains(server.maxSubscriptions), "subscriptions")
    invariant(ServerConfig.maxMessageBytesRange.contains(server.maxMessageBytes), "message bytes")
    invariant(ServerConfig.maxPendingBytesRange.contains(server.maxPendingBytes), "pending bytes")
    invariant(ChannelsConfig.historyRange.contains(config.channels.history), "history")
    for depth in config.channels.historyByPrefix.values {
        invariant(ChannelsConfig.historyRange.contains(depth), "history depth \(depth)")
    }
    var names = Set<String>()
    for device in config.devices {
        invariant(names.insert(device.name).inserted, "duplicate device \(device.name)")
        let limits = device.limits
        invariant(DeviceLimits.memoryMBRange.contains(limits.memoryMB), "memory \(limits.memoryMB)")
        invariant(DeviceLimits.cpuGuardSecondsRange.contains(limits.cpuGuardSeconds), "guard \(limits.cpuGuardSeconds)")
        invariant(DeviceLimits.stopGraceMillisecondsRange.contains(limits.stopGraceMilliseconds), "grace")
        // Durations must be what a Deadline accepts.
        invariant((try? Deadline.now().adding(seconds: limits.cpuGuardSeconds)) != nil, "guard deadline")
        invariant((try? Deadline.now().adding(seconds: limits.stopGraceSeconds)) != nil, "grace deadline")
        // params sit at level 4 of the document.
        invariant(depth(of: device.params) <= ConfigLimits.maxDepth - 3, "params deeper than the limit")
    }
}

/// Arrays and objects nested in a JSON value (scalars add none), without recursion.
private func depth(of value: JSONValue) -> Int {
    var deepest = 0
    var pending: [(JSONValue, Int)] = [(value, 0)]
    while let (next, above) = pending.popLast() {
        switch next {
        case .array(let items):
            deepest = max(deepest, above + 1)
            pending += items.map { ($0, above + 1) }
        case .object(let members):
            deepest = max(deepest, above + 1)
            pending += members.values.map { ($0, above + 1) }
        default: break
        }
    }
    return deepest
}
