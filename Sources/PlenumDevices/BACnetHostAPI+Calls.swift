import PlenumBACnet
import PlenumCore
import PlenumLua

/// The blocking calls of `hub.bacnet` clients. Lua argument 1 is the client id (the Lua
/// wrapper passes it); errors name the script's argument (`device`, `object`, …).
extension BACnetHostAPI {
    /// A call's arguments after the client id, named for errors: `bacnet read: bad argument 'object' …`.
    struct Call {
        let name: String
        let args: LuaArguments

        func bad(_ argument: String, _ expected: String, _ index: Int) -> HostReturn {
            .error("bacnet \(name): bad argument '\(argument)' (\(expected) expected, got \(args.typeName(index)))")
        }
    }

    func failure(_ call: String, _ error: BACnetError) -> HostReturn { .error("bacnet: \(error.description)") }

    /// Resolves argument `index` — a device instance or an "ip:port" string — to an address.
    func device(_ call: Call, _ index: Int, on client: BACnetClient) -> Result<(BACnetDeviceAddress, UInt32?), HubError>
    {
        let expected = "a device instance 0…4194302 or an \"ip:port\" string"
        if let text = call.args.string(index) {
            guard let ip = BACnetIPAddress(text) else {
                return .failure(
                    HubError("bacnet \(call.name): bad argument 'device' (\(expected); '\(text)' is neither)")
                )
            }
            return .success((BACnetDeviceAddress(ip: ip), nil))
        }
        guard let instance = call.args.integer(index), (0...4_194_302).contains(instance) else {
            return .failure(
                HubError("bacnet \(call.name): bad argument 'device' (\(expected), got \(call.args.typeName(index)))")
            )
        }
        let number = UInt32(instance)
        let wait = client.options.timeout * Double(client.options.retries + 1)
        do {
            let deadline = (try? Deadline(seconds: wait)) ?? .never
            return .success((try client.resolve(device: number, until: deadline), number))
        } catch {
            return .failure(HubError("bacnet: \(error.description)"))
        }
    }

    func object(_ call: Call, _ index: Int) -> BACnetObjectIdentifier? {
        call.args.string(index).flatMap { BACnetObjectIdentifier($0) }
    }

    func property(_ call: Call, _ index: Int) -> BACnetPropertyIdentifier? {
        if let number = call.args.integer(index), (0...0x3F_FFFF).contains(number) {
            return BACnetPropertyIdentifier(rawValue: UInt32(number))
        }
        return call.args.string(index).flatMap { BACnetPropertyIdentifier(name: $0) }
    }

    /// An optional array index: nil, or 0…4294967294.
    func arrayIndex(_ call: Call, _ index: Int) -> Result<UInt32?, HubError> {
        if call.args.isNil(index) { return .success(nil) }
        guard let value = call.args.integer(index), (0...0xFFFF_FFFE).contains(value) else {
            return .failure(
                HubError(
                    "bacnet \(call.name): bad argument 'index' (an array index 0… expected, got \(call.args.typeName(index)))"
                )
            )
        }
        return .success(UInt32(value))
    }

    /// After a timeout, a device found through Who-Is may have moved: look it up again next time.
    func forgetOnTimeout(_ error: BACnetError, _ instance: UInt32?, _ client: BACnetClient) {
        if error.code == .timeout, let instance { client.forget(device: instance) }
    }

    static let objectExpected = "an object like \"analog-input:1\""
    static let propertyExpected = "a property name like \"present-value\" or a number"

    // MARK: - Discovery

    func whoIs(_ args: LuaArguments) -> HostReturn {
        guard let client = client(args) else { return .error("hub.bacnet: the client is closed") }
        var options: [String: LuaValue] = [:]
        if !args.isNil(2) {
            guard case .table(let fields)? = try? args.value(2) else {
                return .error("bacnet who_is: bad argument 'options' (table expected, got \(args.typeName(2)))")
            }
            options = fields
        }
        var low: UInt32?
        var high: UInt32?
        var target: BACnetIPAddress?
        var seconds = 3.0
        for (key, value) in options {
            switch (key, value) {
            case ("low", .integer(let v)) where (0...4_194_303).contains(v): low = UInt32(v)
            case ("high", .integer(let v)) where (0...4_194_303).contains(v): high = UInt32(v)
            case ("target", .string(let v)) where BACnetIPAddress(v) != nil: target = BACnetIPAddress(v)
            case ("timeout", .integer(let v)): seconds = Double(v)
            case ("timeout", .number(let v)): seconds = v
            default:
                return .error(
                    "bacnet who_is: option '\(key)' is unknown or invalid (low, high: 0…4194303; target: \"ip:port\"; timeout: seconds)"
                )
            }
        }
        guard (low == nil) == (high == nil) else {
            return .error("bacnet who_is: give both 'low' and 'high', or neither")
        }
        if let low, let high, low > high { return .error("bacnet who_is: 'low' (\(low)) is above 'high' (\(high))") }
        let deadline: Deadline
        do {
            deadline = try Deadline(seconds: seconds)
        } catch {
            return .error("bacnet who_is: bad option 'timeout': \(error)")
        }
        do {
            let range = low.flatMap { low in high.map { low...$0 } }
            let devices = try client.whoIs(range: range, target: target, until: deadline)
            return .one(
                .array(
                    devices.map { d in
                        .table([
                            "device": .integer(Int64(d.iAm.device.instance)),
                            "address": .string(d.address.description),
                            "max_apdu": .integer(Int64(d.iAm.maxAPDU)),
                            "segmentation": .integer(Int64(d.iAm.segmentation)),
                            "vendor": .integer(Int64(d.iAm.vendorID)),
                        ])
                    }
                )
            )
        } catch {
            return failure("who_is", error)
        }
    }

    // MARK: - Read

    func read(_ args: LuaArguments) -> HostReturn {
        let call = Call(name: "read", args: args)
        guard let client = client(args) else { return .error("hub.bacnet: the client is closed") }
        guard let object = object(call, 3) else { return call.bad("object", Self.objectExpected, 3) }
        guard let property = property(call, 4) else { return call.bad("property", Self.propertyExpected, 4) }
        let index: UInt32?
        switch arrayIndex(call, 5) {
        case .success(let i): index = i
        case .failure(let e): return .error(e.message)
        }
        let address: BACnetDeviceAddress
        let instance: UInt32?
        switch device(call, 2, on: client) {
        case .success(let resolved): (address, instance) = resolved
        case .failure(let e): return .error(e.message)
        }
        do {
            let values = try client.readProperty(address, object: object, property: property, index: index)
            return .one(Self.lua(values, property: property, index: index))
        } catch {
            forgetOnTimeout(error, instance, client)
            return failure("read", error)
        }
    }

    func readMultiple(_ args: LuaArguments) -> HostReturn {
        let call = Call(name: "read_multiple", args: args)
        guard let client = client(args) else { return .error("hub.bacnet: the client is closed") }
        guard case .array(let entries)? = try? args.value(3), !entries.isEmpty else {
            return call.bad("list", "a list of {object, property[, index]}", 3)
        }
        var references: [(BACnetObjectIdentifier, BACnetPropertyIdentifier, UInt32?)] = []
        for (i, entry) in entries.enumerated() {
            guard case .array(let parts) = entry, (2...3).contains(parts.count),
                case .string(let objectText) = parts[0], let object = BACnetObjectIdentifier(objectText)
            else {
                return .error(
                    "bacnet read_multiple: entry \(i + 1) must be {\"object:instance\", \"property\"[, index]}"
                )
            }
            let property: BACnetPropertyIdentifier?
            switch parts[1] {
            case .string(let name): property = BACnetPropertyIdentifier(name: name)
            case .integer(let n) where (0...0x3F_FFFF).contains(n):
                property = BACnetPropertyIdentifier(rawValue: UInt32(n))
            default: property = nil
            }
            guard let property else { return .error("bacnet read_multiple: entry \(i + 1) has an unknown property") }
            var index: UInt32?
            if parts.count == 3 {
                guard case .integer(let n) = parts[2], (0...0xFFFF_FFFE).contains(n) else {
                    return .error("bacnet read_multiple: entry \(i + 1) has an invalid array index")
                }
                index = UInt32(n)
            }
            references.append((object, property, index))
        }
        // Consecutive entries for one object share a specification.
        var specs: [ReadPropertyMultiple.Specification] = []
        for (object, property, index) in references {
            if specs.last?.object == object {
                specs[specs.count - 1].properties.append(.init(property, index: index))
            } else {
                specs.append(.init(object: object, properties: [.init(property, index: index)]))
            }
        }
        let address: BACnetDeviceAddress
        let instance: UInt32?
        switch device(call, 2, on: client) {
        case .success(let resolved): (address, instance) = resolved
        case .failure(let e): return .error(e.message)
        }
        let ack: ReadPropertyMultipleACK
        do {
            ack = try client.readPropertyMultiple(address, ReadPropertyMultiple(specs))
        } catch {
            forgetOnTimeout(error, instance, client)
            return failure("read_multiple", error)
        }
        let items = ack.results.flatMap { result in result.items.map { (result.object, $0) } }
        var out: [LuaValue] = []
        for (i, (object, property, index)) in references.enumerated() {
            guard i < items.count, items[i].0 == object, items[i].1.property == property else {
                out.append(.table(["error": .string("missing from the device's reply")]))
                continue
            }
            switch items[i].1.result {
            case .success(let values): out.append(.table(["value": Self.lua(values, property: property, index: index)]))
            case .failure(let error): out.append(.table(["error": .string(error.description)]))
            }
        }
        return .one(.array(out))
    }
}
