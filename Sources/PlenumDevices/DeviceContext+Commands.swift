import PlenumCore
import PlenumLua

/// `hub.commands` and `hub.ack`: the device's side of clients' writes (docs/plugins.md,
/// "Accepting writes"). The writes a device accepts are declared in hub.yaml (`writable:`) and
/// validated by the hub before they get here.
extension DeviceContext {
    /// Longest message `hub.ack` passes on to the client, in bytes.
    static let maxAckMessageBytes = 512

    /// `hub.commands(timeout)`: the writes waiting for this device, oldest first, as
    /// `{id=, channel=, path=, value=, who=}` tables; `nil, "timeout"` when none arrived in time,
    /// `nil, "stopping"` when the device is stopping. No timeout waits until one arrives; 0 only
    /// looks.
    func commands(_ args: LuaArguments) -> HostReturn {
        let deadline: Deadline
        switch Self.deadline(args, 1, function: "hub.commands", defaultSeconds: .infinity) {
        case .success(let d): deadline = d
        case .failure(let e): return .error(e.message)
        }
        var generation = signal.currentGeneration
        while true {
            if let commands, let lease {
                let taken = commands.take(lease)
                if !taken.isEmpty {
                    announcedCommandUpTo(taken.last!.id)
                    return .one(.array(taken.map(Self.table)))
                }
            }
            if signal.isStopping { return .many([.nil, .string("stopping")]) }
            if deadline.hasPassed { return .many([.nil, .string("timeout")]) }
            generation = signal.waitForPoke(after: generation, until: deadline)
        }
    }

    private static func table(_ command: Command) -> LuaValue {
        .table([
            "id": .integer(Int64(truncatingIfNeeded: command.id)),
            "channel": .string(command.name),
            "path": .string(command.path.string),
            "value": LuaValue(command.value),
            "who": .string(command.who),
        ])
    }

    /// `hub.ack(cmd, ok, message)`: answers a write taken from `hub.commands` (`cmd` is its table
    /// or its id). Returns true when the client got this answer; `false, why` when it was
    /// answered already (`"timeout"`, `"device_unavailable"`, `"ok"`, `"rejected"`) or no such
    /// write was taken by this run (`"unknown command"`).
    func ack(_ args: LuaArguments) -> HostReturn {
        var id: Int64?
        if let number = args.integer(1) {
            id = number
        } else if case .table(let fields)? = try? args.value(1), case .integer(let number)? = fields["id"] {
            id = number
        }
        guard let id, id > 0 else {
            return .error("bad argument #1 to 'hub.ack' (a command from hub.commands, or its id, expected)")
        }
        guard case .boolean(let ok)? = try? args.value(2) else {
            return .error("bad argument #2 to 'hub.ack' (true or false expected, got \(args.typeName(2)))")
        }
        var message = ""
        if !args.isNil(3) {
            guard let bytes = args.bytes(3) else {
                return .error("bad argument #3 to 'hub.ack' (message string expected, got \(args.typeName(3)))")
            }
            message = Self.escaped(Array(bytes.prefix(Self.maxAckMessageBytes)))
        }
        guard let commands, let lease else { return .many([.boolean(false), .string("unknown command")]) }
        switch commands.ack(lease, id: UInt64(id), ok: ok, message: message) {
        case .answered: return .one(.boolean(true))
        case .alreadySettled(let code): return .many([.boolean(false), .string(code.rawValue)])
        case .unknown: return .many([.boolean(false), .string("unknown command")])
        }
    }
}
