import PlenumCore

/// `writable:` — what clients may write to a device, refused at its line and column when it
/// makes no sense: `hub.yaml:40:17: devices[1].writable[0].max: 3 is below min 5`.
extension ConfigDecoder {
    static let writableKeys = ["channel", "type", "min", "max", "values", "max_length", "rate_limit", "timeout_s"]
    static let writableTypes = ["number", "integer", "boolean", "string", "enum"]
    /// The keys of a Modbus point's `writable:` (its type follows from the register map).
    static let writablePointKeys = ["min", "max", "rate_limit", "timeout_s"]

    /// A declaration and where it was written (for errors found later, across devices).
    struct DeclaredWritable {
        var channel: WritableChannel
        var node: YAMLNode
        /// `devices[1].writable[0].channel`, `devices[1].params.points[7]`.
        var keyPath: String
    }

    /// The options every declaration may have, whatever its type.
    struct WritableOptions: Equatable {
        var minimum: Double?
        var maximum: Double?
        var rateLimit: WritableChannel.RateLimit?
        var timeoutSeconds: Double?
    }

    /// `devices[i].writable:`, a list of entries relative to `prefix` (nil when the prefix itself
    /// is invalid: the entries are still checked).
    mutating func decodeWritable(_ node: YAMLNode, _ path: String, prefix: ChannelPath?) -> [DeclaredWritable] {
        guard case .sequence(let items) = node.kind else {
            report(
                .wrongType,
                node,
                path,
                "expected a list of writable channels ({channel:, type:, …}), found \(node.typeName)"
            )
            return []
        }
        var declared: [DeclaredWritable] = []
        var seen: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let entryPath = "\(path)[\(index)]"
            guard let entry = decodeWritableEntry(item, entryPath, prefix: prefix) else { continue }
            if let first = seen[entry.channel.name] {
                report(
                    .duplicateName,
                    entry.node,
                    "\(entryPath).channel",
                    "channel '\(entry.channel.name)' is already declared by \(path)[\(first)]"
                )
                continue
            }
            seen[entry.channel.name] = index
            declared.append(entry)
        }
        return declared
    }

    private mutating func decodeWritableEntry(
        _ node: YAMLNode,
        _ path: String,
        prefix: ChannelPath?
    )
        -> DeclaredWritable?
    {
        guard let map = mapping(node, path, keys: Self.writableKeys, what: "a writable channel") else { return nil }
        let before = diagnostics.count
        guard let channelNode = map["channel"] else {
            report(.missingKey, node, path, "missing required key 'channel' (relative to the device prefix)")
            return nil
        }
        guard let name = string(channelNode, "\(path).channel") else { return nil }
        guard !name.hasPrefix("/"), (try? ChannelPath("/d/" + name)) != nil else {
            report(
                .invalidPath,
                channelNode,
                "\(path).channel",
                "'\(name)' is not a channel relative to the device prefix, such as setpoint or pumps/p1/speed"
            )
            return nil
        }
        guard let typeNode = map["type"] else {
            report(
                .missingKey,
                node,
                path,
                "missing required key 'type' (\(Self.writableTypes.joined(separator: ", ")))"
            )
            return nil
        }
        guard let typeName = string(typeNode, "\(path).type") else { return nil }
        var kind: WritableChannel.Kind
        switch typeName {
        case "number": kind = .number
        case "integer": kind = .integer
        case "boolean": kind = .boolean
        case "string": kind = .string
        case "enum": kind = .enumeration([])
        default:
            var message = "'\(typeName)' is not a type"
            if let suggestion = Self.closest(to: typeName, in: Self.writableTypes) {
                message += "; did you mean '\(suggestion)'?"
            }
            report(
                .outOfRange,
                typeNode,
                "\(path).type",
                message + " (expected one of: \(Self.writableTypes.joined(separator: ", ")))"
            )
            return nil
        }
        let numeric = kind == .number || kind == .integer
        for key in ["min", "max"] where !numeric {
            if let n = map[key] {
                report(.unknownKey, n, "\(path).\(key)", "'\(key)' is for number and integer channels, not \(typeName)")
            }
        }
        let options = decodeWritableOptions(
            min: numeric ? map["min"] : nil,
            max: numeric ? map["max"] : nil,
            rateLimit: map["rate_limit"],
            timeout: map["timeout_s"],
            integral: kind == .integer,
            path
        )
        if case .enumeration = kind {
            if let n = map["values"] {
                kind = .enumeration(decodeEnumValues(n, "\(path).values"))
            } else {
                report(.missingKey, node, path, "missing required key 'values' (the strings an enum accepts)")
            }
        } else if let n = map["values"] {
            report(.unknownKey, n, "\(path).values", "'values' is for enum channels, not \(typeName)")
        }
        var maxLength = WritableChannel.defaultMaxLength
        if let n = map["max_length"] {
            if kind == .string {
                integer(n, "\(path).max_length", 1...1_048_576, into: &maxLength)
            } else {
                report(.unknownKey, n, "\(path).max_length", "'max_length' is for string channels, not \(typeName)")
            }
        }
        guard diagnostics.count == before, let prefix, let resolved = try? prefix.resolving(name) else { return nil }
        return DeclaredWritable(
            channel: WritableChannel(
                path: resolved,
                name: name,
                kind: kind,
                minimum: options.minimum,
                maximum: options.maximum,
                maxLength: maxLength,
                rateLimit: options.rateLimit,
                timeoutSeconds: options.timeoutSeconds
            ),
            node: channelNode,
            keyPath: "\(path).channel"
        )
    }

    /// `min`, `max` (integers when `integral`), `rate_limit: {count:, per_s:}`, `timeout_s`.
    mutating func decodeWritableOptions(
        min: YAMLNode?,
        max: YAMLNode?,
        rateLimit: YAMLNode?,
        timeout: YAMLNode?,
        integral: Bool,
        _ path: String
    ) -> WritableOptions {
        var options = WritableOptions()
        func bound(_ node: YAMLNode?, _ key: String) -> Double? {
            guard let node, let value = number(node, "\(path).\(key)") else { return nil }
            if integral && value.rounded() != value {
                report(
                    .wrongType,
                    node,
                    "\(path).\(key)",
                    "\(Self.show(node)) is not an integer; the channel takes integers"
                )
                return nil
            }
            return value
        }
        options.minimum = bound(min, "min")
        options.maximum = bound(max, "max")
        if let low = options.minimum, let high = options.maximum, let node = max, high < low {
            report(.outOfRange, node, "\(path).max", "\(Self.show(node)) is below min \(WritableChannel.show(low))")
        }
        if let node = rateLimit,
            let map = mapping(node, "\(path).rate_limit", keys: ["count", "per_s"], what: "'rate_limit'")
        {
            var count = 0
            var seconds = 0.0
            var complete = true
            for key in ["count", "per_s"] where map[key] == nil {
                report(
                    .missingKey,
                    node,
                    "\(path).rate_limit",
                    "missing required key '\(key)' (at most count writes per per_s seconds)"
                )
                complete = false
            }
            let before = diagnostics.count
            integer(map["count"], "\(path).rate_limit.count", 1...100_000, into: &count)
            if let n = map["per_s"], let v = number(n, "\(path).rate_limit.per_s") {
                if v > 0 && v <= 86_400 {
                    seconds = v
                } else {
                    report(
                        .outOfRange,
                        n,
                        "\(path).rate_limit.per_s",
                        "\(Self.show(n)) is out of range; expected seconds in (0, 86400]"
                    )
                }
            }
            if complete && diagnostics.count == before {
                options.rateLimit = WritableChannel.RateLimit(count: count, seconds: seconds)
            }
        }
        if let node = timeout, let v = number(node, "\(path).timeout_s") {
            if v > 0 && v <= 3_600 {
                options.timeoutSeconds = v
            } else {
                report(
                    .outOfRange,
                    node,
                    "\(path).timeout_s",
                    "\(Self.show(node)) is out of range; expected seconds in (0, 3600]"
                )
            }
        }
        return options
    }

    /// A non-empty list of distinct strings.
    private mutating func decodeEnumValues(_ node: YAMLNode, _ path: String) -> [String] {
        guard case .sequence(let items) = node.kind, !items.isEmpty else {
            report(.wrongType, node, path, "expected a non-empty list of strings, found \(node.typeName)")
            return []
        }
        var values: [String] = []
        for (index, item) in items.enumerated() {
            guard case .scalar(let text, let plain) = item.kind else {
                report(.wrongType, item, "\(path)[\(index)]", "expected a string, found \(item.typeName)")
                continue
            }
            if plain, case .string = YAMLScalar.resolve(text) {
            } else if plain {
                report(
                    .wrongType,
                    item,
                    "\(path)[\(index)]",
                    "enum values are strings; quote \(text) (\"\(text)\") or use an integer channel"
                )
                continue
            }
            if values.contains(text) {
                report(.duplicateName, item, "\(path)[\(index)]", "'\(text)' is listed twice")
                continue
            }
            values.append(text)
        }
        return values
    }

    /// A `modbus_device.lua` device: its `writable:` entries must name holding registers or coils
    /// of its register map, with a type the register can carry; its points marked `writable:`
    /// are added to them.
    mutating func checkModbusWritable(
        _ declared: [DeclaredWritable],
        _ params: ModbusDeviceParams,
        params node: YAMLNode?,
        prefix: ChannelPath,
        _ path: String
    ) -> [DeclaredWritable] {
        var byName: [String: ModbusDeviceParams.Point] = [:]
        for point in params.points { byName[point.name] = point }
        var checked: [DeclaredWritable] = []
        for entry in declared {
            let entryPath = entry.keyPath
            guard let point = byName[entry.channel.name] else {
                report(
                    .invalidName,
                    entry.node,
                    entryPath,
                    "'\(entry.channel.name)' is not a point of the register map; a modbus_device.lua device writes its points"
                )
                continue
            }
            guard point.table == .holding || point.table == .coil else {
                report(
                    .outOfRange,
                    entry.node,
                    entryPath,
                    "point '\(point.name)' is in the \(point.table.rawValue) table, which is read-only; only holding registers and coils can be written"
                )
                continue
            }
            if point.writable != nil {
                report(
                    .duplicateName,
                    entry.node,
                    entryPath,
                    "point '\(point.name)' is already marked writable in the register map"
                )
                continue
            }
            let fits: Bool
            switch entry.channel.kind {
            case .boolean: fits = point.table == .coil
            case .number, .integer: fits = point.table == .holding
            case .enumeration(let names):
                fits = !point.values.isEmpty && Set(names).isSubset(of: Set(point.values.values))
            case .string: fits = false
            }
            guard fits else {
                let takes =
                    point.values.isEmpty
                    ? (point.table == .coil ? "boolean" : "number or integer")
                    : "enum with values from \(point.values.values.sorted().joined(separator: ", "))"
                var declaredAs = entry.channel.kind.description
                if case .enumeration(let names) = entry.channel.kind {
                    declaredAs += " [\(names.joined(separator: ", "))]"
                }
                let register = point.table.rawValue + (point.type.map { " \($0)" } ?? "")
                report(
                    .outOfRange,
                    entry.node,
                    entryPath,
                    "point '\(point.name)' (\(register)) takes \(takes), not \(declaredAs)"
                )
                continue
            }
            checked.append(entry)
        }
        guard let node, case .mapping(let pairs) = node.kind,
            let points = pairs.first(where: { if case .scalar("points", _) = $0.0.kind { true } else { false } })?.1,
            case .sequence(let items) = points.kind, items.count == params.points.count
        else { return checked }
        for (index, (point, item)) in zip(params.points, items).enumerated() {
            guard let channel = point.writableChannel(prefix: prefix) else { continue }
            checked.append(DeclaredWritable(channel: channel, node: item, keyPath: "\(path).params.points[\(index)]"))
        }
        return checked
    }
}
