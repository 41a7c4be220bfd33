import PlenumCore

/// Decoding `params` of `modbus_device.lua` devices into `ModbusDeviceParams`, reporting every
/// mistake at its line and column: `hub.yaml:31:15: devices[1].params.points[2].type: …`.
extension ConfigDecoder {
    static let modbusDeviceKeys = [
        "host", "serial", "port", "baud", "parity", "data_bits", "stop_bits", "unit", "timeout", "poll_s",
        "max_registers", "max_gap", "max_backoff_s", "points",
    ]
    static let modbusPointKeys = [
        "name", "table", "address", "type", "order", "scale", "offset", "unit", "poll_s", "values", "writable",
    ]

    /// `params` (nil when the device has none) of the device at `device`.
    @discardableResult
    mutating func decodeModbusDevice(_ node: YAMLNode?, device: YAMLNode, _ path: String) -> ModbusDeviceParams? {
        guard let node else {
            report(.missingKey, device, path, "modbus_device.lua needs params with 'host' or 'serial' and 'points'")
            return nil
        }
        let before = diagnostics.count
        guard let map = mapping(node, path, keys: Self.modbusDeviceKeys, what: "'params'") else { return nil }
        var params = ModbusDeviceParams()
        var valid = true
        let host = map["host"].flatMap { string($0, "\(path).host") }
        let serial = map["serial"].flatMap { string($0, "\(path).serial") }
        switch (host, serial) {
        case (let host?, nil):
            var port = 502
            if let n = map["port"] {
                if case .scalar(_, false) = n.kind {
                    report(.wrongType, n, "\(path).port", "the TCP port is a number; a serial port goes in 'serial'")
                    valid = false
                } else {
                    integer(n, "\(path).port", 1...65_535, into: &port)
                }
            }
            for key in ["baud", "parity", "data_bits", "stop_bits"] {
                if let n = map[key] {
                    report(.unknownKey, n, "\(path).\(key)", "'\(key)' is for serial lines ('serial'), not Modbus TCP")
                    valid = false
                }
            }
            params.link = .tcp(host: host, port: port)
            integer(map["unit"], "\(path).unit", 0...255, into: &params.unit)
        case (nil, let serial?):
            if let n = map["port"] {
                report(.unknownKey, n, "\(path).port", "'port' is the TCP port; the serial device goes in 'serial'")
                valid = false
            }
            var baud = 9_600
            var dataBits = 8
            var stopBits = 1
            var parity = "none"
            if let n = map["baud"] {
                integer(n, "\(path).baud", 1...921_600, into: &baud)
                if !ModbusDeviceParams.baudRates.contains(baud) {
                    report(
                        .outOfRange,
                        n,
                        "\(path).baud",
                        "\(baud) is not a supported baud rate; expected one of \(ModbusDeviceParams.baudRates.map(String.init).joined(separator: ", "))"
                    )
                    valid = false
                }
            }
            if let n = map["parity"], let v = string(n, "\(path).parity") {
                if ["none", "even", "odd"].contains(v) {
                    parity = v
                } else {
                    report(.outOfRange, n, "\(path).parity", "'\(v)' is not a parity; expected none, even or odd")
                    valid = false
                }
            }
            integer(map["data_bits"], "\(path).data_bits", 5...8, into: &dataBits)
            integer(map["stop_bits"], "\(path).stop_bits", 1...2, into: &stopBits)
            params.link = .rtu(serial: serial, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits)
            integer(map["unit"], "\(path).unit", 1...247, into: &params.unit)
        case (.some, .some):
            report(.structure, node, path, "give either 'host' (Modbus TCP) or 'serial' (Modbus RTU), not both")
            valid = false
        case (nil, nil):
            if map["host"] == nil && map["serial"] == nil {
                report(.missingKey, node, path, "missing 'host' (Modbus TCP) or 'serial' (Modbus RTU)")
            }
            valid = false
        }
        valid = seconds(map["timeout"], "\(path).timeout", into: &params.timeout) && valid
        valid = seconds(map["poll_s"], "\(path).poll_s", into: &params.pollSeconds) && valid
        valid = seconds(map["max_backoff_s"], "\(path).max_backoff_s", into: &params.maxBackoffSeconds) && valid
        integer(map["max_registers"], "\(path).max_registers", 1...125, into: &params.maxRegisters)
        integer(map["max_gap"], "\(path).max_gap", 0...124, into: &params.maxGap)
        guard let pointsNode = map["points"] else {
            report(.missingKey, node, path, "missing 'points': the register map, a list of points")
            return nil
        }
        guard case .sequence(let items) = pointsNode.kind, !items.isEmpty else {
            report(
                .wrongType,
                pointsNode,
                "\(path).points",
                "expected a non-empty list of points ({name:, table:, address:, …}), found \(pointsNode.typeName)"
            )
            return nil
        }
        var names: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let pointPath = "\(path).points[\(index)]"
            guard let point = decodeModbusPoint(item, pointPath) else {
                valid = false
                continue
            }
            if let first = names[point.name] {
                report(
                    .duplicateName,
                    item,
                    "\(pointPath).name",
                    "point name '\(point.name)' is already used by points[\(first)]; each point publishes its own channel"
                )
                valid = false
            } else {
                names[point.name] = index
            }
            params.points.append(point)
        }
        return valid && diagnostics.count == before ? params : nil
    }

    private mutating func decodeModbusPoint(_ node: YAMLNode, _ path: String) -> ModbusDeviceParams.Point? {
        guard let map = mapping(node, path, keys: Self.modbusPointKeys, what: "a point") else { return nil }
        let before = diagnostics.count
        guard let nameNode = map["name"] else {
            report(.missingKey, node, path, "missing required key 'name' (the channel under the device prefix)")
            return nil
        }
        guard let name = string(nameNode, "\(path).name") else { return nil }
        var point = ModbusDeviceParams.Point(name: name)
        if name.hasPrefix("/") || (try? ChannelPath("/d/" + name)) == nil {
            report(
                .invalidPath,
                nameNode,
                "\(path).name",
                "'\(name)' is not a relative channel path such as supply_temp or pumps/p1"
            )
        } else if name == "modbus" || name.hasPrefix("modbus/") {
            report(.invalidPath, nameNode, "\(path).name", "'modbus/…' is where the device publishes its link state")
        }
        if let n = map["table"], let v = string(n, "\(path).table") {
            if let table = ModbusDeviceParams.Table(rawValue: v) {
                point.table = table
            } else {
                report(
                    .outOfRange,
                    n,
                    "\(path).table",
                    "'\(v)' is not a table; expected holding, input, coil or discrete"
                )
            }
        }
        var width = 1
        if point.table.holdsBits {
            for key in ["type", "order", "scale", "offset"] {
                if let n = map[key] {
                    report(
                        .unknownKey,
                        n,
                        "\(path).\(key)",
                        "a \(point.table.rawValue) is one bit; '\(key)' is for registers"
                    )
                }
            }
        } else {
            if let n = map["type"], let v = string(n, "\(path).type") {
                if let w = ModbusDeviceParams.width(of: v) {
                    point.type = v
                    width = w
                } else {
                    let names = ModbusDeviceParams.registerTypes.map(\.name).joined(separator: ", ")
                    report(.outOfRange, n, "\(path).type", "'\(v)' is not a register type; expected one of \(names)")
                }
            } else if map["type"] == nil {
                point.type = "u16"
            }
            if let n = map["order"], let v = string(n, "\(path).order") {
                if ModbusDeviceParams.orders.contains(v.uppercased()) {
                    point.order = v.uppercased()
                } else {
                    report(
                        .outOfRange,
                        n,
                        "\(path).order",
                        "'\(v)' is not a word order; expected ABCD, CDAB, BADC or DCBA"
                    )
                }
            }
            if let n = map["scale"], let v = number(n, "\(path).scale") {
                if v == 0 {
                    report(.outOfRange, n, "\(path).scale", "the scale must not be 0")
                } else {
                    point.scale = v
                }
            }
            if let n = map["offset"], let v = number(n, "\(path).offset") { point.offset = v }
        }
        if let n = map["address"] {
            integer(n, "\(path).address", 0...65_535, into: &point.address)
            if diagnostics.count == before, point.address + width > 65_536 {
                report(
                    .outOfRange,
                    n,
                    "\(path).address",
                    "a \(point.type ?? "bit") at \(point.address) needs registers up to \(point.address + width - 1), past 65535"
                )
            }
        } else {
            report(.missingKey, node, path, "missing required key 'address' (0-based, as on the wire)")
        }
        if let n = map["unit"] { point.unit = string(n, "\(path).unit") }
        if let n = map["poll_s"] {
            var period = 1.0
            if seconds(n, "\(path).poll_s", into: &period) { point.pollSeconds = period }
        }
        if let n = map["values"] { point.values = decodeValueNames(n, "\(path).values") }
        if let n = map["writable"], diagnostics.count == before {
            point.writable = decodePointWritable(n, point, "\(path).writable")
        }
        return diagnostics.count == before ? point : nil
    }

    /// A point's `writable:` — `true`, or `{min:, max:, rate_limit:, timeout_s:}` — for holding
    /// registers and coils; `min`/`max` must fit what the register holds after scale and offset.
    private mutating func decodePointWritable(
        _ node: YAMLNode,
        _ point: ModbusDeviceParams.Point,
        _ path: String
    ) -> ModbusDeviceParams.Writable? {
        if case .scalar(let text, true) = node.kind, case .bool(let flag) = YAMLScalar.resolve(text) {
            guard flag else { return nil }
        } else if case .mapping = node.kind {
        } else {
            report(
                .wrongType,
                node,
                path,
                "expected true or a mapping (min, max, rate_limit, timeout_s), found \(node.typeName)"
            )
            return nil
        }
        guard point.table == .holding || point.table == .coil else {
            report(
                .outOfRange,
                node,
                path,
                "\(point.table == .input ? "input registers" : "discrete inputs") are read-only; only holding registers and coils can be written"
            )
            return nil
        }
        guard case .mapping = node.kind else { return ModbusDeviceParams.Writable() }
        let before = diagnostics.count
        guard let map = mapping(node, path, keys: Self.writablePointKeys, what: "'writable'") else { return nil }
        let numeric = point.table == .holding && point.values.isEmpty
        for key in ["min", "max"] where !numeric {
            if let n = map[key] {
                report(
                    .unknownKey,
                    n,
                    "\(path).\(key)",
                    "'\(key)' is for numeric registers; this point takes \(point.values.isEmpty ? "true or false" : "one of its values' names")"
                )
            }
        }
        let integral =
            point.type != "f32" && point.type != "f64" && point.scale.rounded() == point.scale
            && point.offset.rounded() == point.offset
        let options = decodeWritableOptions(
            min: numeric ? map["min"] : nil,
            max: numeric ? map["max"] : nil,
            rateLimit: map["rate_limit"],
            timeout: map["timeout_s"],
            integral: integral,
            path
        )
        if numeric, let range = point.engineeringRange {
            let type = point.type ?? "u16"
            var register = type
            if point.scale != 1 { register += " × \(WritableChannel.show(point.scale))" }
            if point.offset != 0 { register += " + \(WritableChannel.show(point.offset))" }
            for (key, value) in [("min", options.minimum), ("max", options.maximum)] {
                guard let value, let n = map[key], !range.contains(value) else { continue }
                report(
                    .outOfRange,
                    n,
                    "\(path).\(key)",
                    "\(Self.show(n)) does not fit the register (\(register)): it holds \(WritableChannel.show(range.lowerBound)) to \(WritableChannel.show(range.upperBound))"
                )
            }
        }
        guard diagnostics.count == before else { return nil }
        return ModbusDeviceParams.Writable(
            minimum: options.minimum,
            maximum: options.maximum,
            rateLimit: options.rateLimit,
            timeoutSeconds: options.timeoutSeconds
        )
    }

    /// `values: {0: stopped, 1: running}` — integer (or true/false) keys, string names.
    private mutating func decodeValueNames(_ node: YAMLNode, _ path: String) -> [String: String] {
        guard case .mapping(let pairs) = node.kind else {
            report(.wrongType, node, path, "expected a mapping of raw value: name, found \(node.typeName)")
            return [:]
        }
        var names: [String: String] = [:]
        for (key, value) in pairs {
            guard case .scalar(let text, true) = key.kind else {
                report(.wrongType, key, path, "keys must be integers (or true/false for bits), found \(key.typeName)")
                continue
            }
            switch YAMLScalar.resolve(text) {
            case .integer(let i): if let name = string(value, "\(path).\(text)") { names[String(i)] = name }
            case .bool(let b): if let name = string(value, "\(path).\(text)") { names[String(b)] = name }
            default:
                report(
                    .wrongType,
                    key,
                    "\(path).\(text)",
                    "keys must be integers (or true/false for bits), found \(key.typeName)"
                )
            }
        }
        return names
    }

    /// A positive number of seconds (at most a day); false (and reported) otherwise.
    private mutating func seconds(_ node: YAMLNode?, _ path: String, into target: inout Double) -> Bool {
        guard let node else { return true }
        guard let value = number(node, path) else { return false }
        guard value > 0, value <= 86_400 else {
            report(.outOfRange, node, path, "\(Self.show(node)) is out of range; expected seconds in (0, 86400]")
            return false
        }
        target = value
        return true
    }
}
