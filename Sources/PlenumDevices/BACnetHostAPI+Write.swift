import PlenumBACnet
import PlenumCore
import PlenumLua

/// Writing, subscribing and receiving notifications from `hub.bacnet` clients.
extension BACnetHostAPI {
    /// `write(device, object, property, value[, priority[, index]])`, or
    /// `relinquish(device, object, property, priority)` (NULL at that priority).
    func write(_ args: LuaArguments, relinquish: Bool) -> HostReturn {
        let call = Call(name: relinquish ? "relinquish" : "write", args: args)
        guard let client = client(args) else { return .error("hub.bacnet: the client is closed") }
        guard let object = object(call, 3) else { return call.bad("object", Self.objectExpected, 3) }
        guard let property = property(call, 4) else { return call.bad("property", Self.propertyExpected, 4) }
        let priorityIndex = relinquish ? 5 : 6
        var priority: UInt8?
        if !args.isNil(priorityIndex) || relinquish {
            guard let p = args.integer(priorityIndex), (1...16).contains(p) else {
                return call.bad("priority", "a priority 1…16", priorityIndex)
            }
            priority = UInt8(p)
        }
        var values: [BACnetValue] = [.null]
        var index: UInt32?
        if !relinquish {
            switch arrayIndex(call, 7) {
            case .success(let i): index = i
            case .failure(let e): return .error(e.message)
            }
            guard let value = try? args.value(5) else { return call.bad("value", "a value", 5) }
            switch Self.bacnet(value, object: object, property: property) {
            case .success(let converted): values = converted
            case .failure(let e): return .error("bacnet write: bad argument 'value' (\(e.message))")
            }
        }
        let address: BACnetDeviceAddress
        let instance: UInt32?
        switch device(call, 2, on: client) {
        case .success(let resolved): (address, instance) = resolved
        case .failure(let e): return .error(e.message)
        }
        do {
            try client.writeProperty(
                address,
                WriteProperty(object: object, property: property, index: index, values: values, priority: priority)
            )
            return .one(.boolean(true))
        } catch {
            forgetOnTimeout(error, instance, client)
            return failure(call.name, error)
        }
    }

    /// `subscribe_cov(device, object, {lifetime=, confirmed=})` or `unsubscribe_cov(device, object)`.
    func subscribe(_ args: LuaArguments, cancel: Bool) -> HostReturn {
        let call = Call(name: cancel ? "unsubscribe_cov" : "subscribe_cov", args: args)
        guard let client = client(args), let id = args.integer(1), let processID = processIDs[Int(id)] else {
            return .error("hub.bacnet: the client is closed")
        }
        guard let object = object(call, 3) else { return call.bad("object", Self.objectExpected, 3) }
        var lifetime: UInt32 = 300
        var confirmed = false
        if !cancel && !args.isNil(4) {
            guard case .table(let options)? = try? args.value(4) else { return call.bad("options", "a table", 4) }
            for (key, value) in options {
                switch (key, value) {
                case ("lifetime", .integer(let v)) where (0...Int64(UInt32.max)).contains(v): lifetime = UInt32(v)
                case ("confirmed", .boolean(let v)): confirmed = v
                default:
                    return .error(
                        "bacnet subscribe_cov: option '\(key)' is unknown or invalid (lifetime: whole seconds, 0 = no end; confirmed: boolean)"
                    )
                }
            }
        }
        let address: BACnetDeviceAddress
        let instance: UInt32?
        switch device(call, 2, on: client) {
        case .success(let resolved): (address, instance) = resolved
        case .failure(let e): return .error(e.message)
        }
        let request =
            cancel
            ? SubscribeCOV.cancel(processID: processID, object: object)
            : SubscribeCOV(processID: processID, object: object, confirmed: confirmed, lifetime: lifetime)
        do {
            try client.subscribeCOV(address, request)
        } catch {
            forgetOnTimeout(error, instance, client)
            return failure(call.name, error)
        }
        if cancel { return .one(.boolean(true)) }
        var lease: [String: LuaValue] = [
            "process_id": .integer(Int64(processID)), "lifetime": .integer(Int64(lifetime)),
        ]
        if let renew = SubscribeCOV.renewalInterval(lifetime: lifetime) { lease["renew_in"] = .number(renew) }
        return .one(.table(lease))
    }

    /// `next_notification(timeout)`: the oldest notification, or `nil, "timeout"` / `nil, "stopping"`.
    func nextNotification(_ args: LuaArguments) -> HostReturn {
        guard let client = client(args) else { return .error("hub.bacnet: the client is closed") }
        var deadline = Deadline.never
        if !args.isNil(2) {
            guard let seconds = args.number(2) else {
                return .error(
                    "bacnet next_notification: bad argument 'timeout' (seconds expected, got \(args.typeName(2)))"
                )
            }
            do {
                deadline = try Deadline(seconds: seconds)
            } catch {
                return .error("bacnet next_notification: bad argument 'timeout': \(error)")
            }
        }
        do {
            guard let received = try client.nextNotification(until: deadline) else {
                return .many([.nil, .string("timeout")])
            }
            let n = received.notification
            var values: [String: LuaValue] = [:]
            for item in n.values {
                let key = item.index.map { "\(item.property)[\($0)]" } ?? item.property.description
                values[key] = Self.lua(item.values, property: item.property, index: item.index)
            }
            return .one(
                .table([
                    "device": .integer(Int64(n.initiatingDevice.instance)),
                    "address": .string(received.source.description),
                    "object": .string(n.object.description),
                    "values": .table(values),
                    "time_remaining": .integer(Int64(n.timeRemaining)),
                    "confirmed": .boolean(received.confirmed),
                    "process_id": .integer(Int64(n.processID)),
                    "received": .number(Double(received.receivedAt) / 1e9),
                ])
            )
        } catch {
            if error.code == .interrupted { return .many([.nil, .string("stopping")]) }
            return failure("next_notification", error)
        }
    }
}
