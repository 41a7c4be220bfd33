import PlenumBACnet
import PlenumLua

/// BACnet values ↔ Lua values for `hub.bacnet` (the table is in docs/bacnet.md).
extension BACnetHostAPI {
    /// Marks a NULL; the Lua prelude turns it into `hub.bacnet.null`.
    static let nullMarker = LuaValue.table(["__bacnet_null": .boolean(true)])

    /// The Lua value of a property read whole (`index` nil) or one element: a list for list
    /// properties and whenever there is not exactly one value.
    static func lua(_ values: [BACnetValue], property: BACnetPropertyIdentifier, index: UInt32?) -> LuaValue {
        if values.count == 1 && (index != nil || !property.isList) { return lua(values[0]) }
        return .array(values.map(lua))
    }

    static func lua(_ value: BACnetValue) -> LuaValue {
        switch value {
        case .null: return nullMarker
        case .boolean(let b): return .boolean(b)
        case .unsigned(let u): return u <= UInt64(Int64.max) ? .integer(Int64(u)) : .number(Double(u))
        case .signed(let s): return .integer(s)
        case .real(let r): return .number(Double(r))
        case .double(let d): return .number(d)
        case .octetString(let bytes): return .string(bytes.hexString)
        case .characterString(let s): return .string(s)
        case .bitString(let bits): return .array(bits.bits.map { .boolean($0) })
        case .enumerated(let e): return .integer(Int64(e))
        case .date(let d):
            var out: [String: LuaValue] = [:]
            if d.yearSince1900 != 255 { out["year"] = .integer(1900 + Int64(d.yearSince1900)) }
            if d.month != 255 { out["month"] = .integer(Int64(d.month)) }
            if d.day != 255 { out["day"] = .integer(Int64(d.day)) }
            if d.weekday != 255 { out["weekday"] = .integer(Int64(d.weekday)) }
            return .table(out)
        case .time(let t):
            var out: [String: LuaValue] = [:]
            if t.hour != 255 { out["hour"] = .integer(Int64(t.hour)) }
            if t.minute != 255 { out["minute"] = .integer(Int64(t.minute)) }
            if t.second != 255 { out["second"] = .integer(Int64(t.second)) }
            if t.hundredths != 255 { out["hundredths"] = .integer(Int64(t.hundredths)) }
            return .table(out)
        case .objectIdentifier(let id): return .string(id.description)
        case .context(let tag, let data): return .table(["tag": .integer(Int64(tag)), "data": .string(data.hexString)])
        case .constructed(let tag, let values):
            return .table(["tag": .integer(Int64(tag)), "values": .array(values.map(lua))])
        }
    }

    /// The BACnet value(s) to write for a script's `value`. Numbers are typed by the object and
    /// property (analog present-value → REAL, binary → ENUMERATED, multi-state → UNSIGNED);
    /// `{type=…, value=…}` says the type explicitly; a list writes several values.
    static func bacnet(
        _ value: LuaValue,
        object: BACnetObjectIdentifier,
        property: BACnetPropertyIdentifier
    )
        -> Result<[BACnetValue], HubError>
    {
        let commanded = [85, 104].contains(property.rawValue)
        let analogReal = [22, 25, 45, 59, 65, 69, 85, 104, 106].contains(property.rawValue)
        let type = object.type
        // `if case` rather than a switch: LuaValue may grow cases (raw bytes), which are refused.
        if case .table(let fields) = value {
            if fields["__bacnet_null"] != nil { return .success([.null]) }
            if fields["type"] != nil { return typed(fields).map { [$0] } }
            return .failure(HubError("a table value needs a 'type' field (see docs/bacnet.md)"))
        }
        if case .array(let items) = value {
            var out: [BACnetValue] = []
            for item in items {
                switch bacnet(item, object: object, property: property) {
                case .success(let v): out.append(contentsOf: v)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(out)
        }
        if case .boolean(let b) = value {
            if type.isBinary && commanded { return .success([.enumerated(b ? 1 : 0)]) }
            return .success([.boolean(b)])
        }
        if case .string(let s) = value {
            guard type.isBinary && commanded else { return .success([.characterString(s)]) }
            switch s {
            case "active": return .success([.enumerated(1)])
            case "inactive": return .success([.enumerated(0)])
            default: return .failure(HubError("a binary value is true/false, 1/0 or \"active\"/\"inactive\""))
            }
        }
        if case .integer(let i) = value {
            if type.isAnalog && analogReal { return .success([.real(Float(i))]) }
            if type.isBinary && commanded {
                guard i == 0 || i == 1 else { return .failure(HubError("a binary value is 0 or 1, got \(i)")) }
                return .success([.enumerated(UInt32(i))])
            }
            if type.isMultiState && commanded {
                guard (1...Int64(UInt32.max)).contains(i) else {
                    return .failure(HubError("a multi-state value is a state number from 1, got \(i)"))
                }
                return .success([.unsigned(UInt64(i))])
            }
            return .success([i >= 0 ? .unsigned(UInt64(i)) : .signed(i)])
        }
        if case .number(let d) = value {
            guard Float(d).isFinite else {
                return .failure(HubError("NaN, infinities and numbers beyond a REAL's range cannot be written"))
            }
            if type.isBinary || type.isMultiState {
                return .failure(HubError("\(type) takes a whole number, got \(d)"))
            }
            return .success([.real(Float(d))])
        }
        if case .nil = value {
            return .failure(HubError("nil cannot be written; use hub.bacnet.null or relinquish"))
        }
        return .failure(HubError("a number, boolean, string, hub.bacnet.null or {type=, value=} expected"))
    }

    /// `{type="unsigned", value=5}` and the like.
    static func typed(_ fields: [String: LuaValue]) -> Result<BACnetValue, HubError> {
        guard case .string(let type)? = fields["type"] else { return .failure(HubError("'type' must be a string")) }
        let value = fields["value"] ?? .nil
        func number() -> Double? {
            switch value {
            case .integer(let i): Double(i)
            case .number(let d): d
            default: nil
            }
        }
        func field(_ name: String, _ range: ClosedRange<Int64>, offset: Int64 = 0) -> UInt8? {
            guard case .table(let parts) = value else { return 255 }
            guard let part = parts[name] else { return 255 }
            guard case .integer(let i) = part, range.contains(i) else { return nil }
            return UInt8(i - offset)
        }
        switch (type, value) {
        case ("null", _): return .success(.null)
        case ("boolean", .boolean(let b)): return .success(.boolean(b))
        case ("unsigned", .integer(let i)) where i >= 0: return .success(.unsigned(UInt64(i)))
        case ("signed", .integer(let i)): return .success(.signed(i))
        case ("enumerated", .integer(let i)) where (0...Int64(UInt32.max)).contains(i):
            return .success(.enumerated(UInt32(i)))
        case ("real", _) where number()?.isFinite == true: return .success(.real(Float(number() ?? 0)))
        case ("double", _) where number()?.isFinite == true: return .success(.double(number() ?? 0))
        case ("character-string", .string(let s)): return .success(.characterString(s))
        case ("octet-string", .string(let hex)):
            guard let bytes = [UInt8](hex: hex) else { return .failure(HubError("octet-string value must be hex")) }
            return .success(.octetString(bytes))
        case ("bit-string", .array(let bits)):
            var out: [Bool] = []
            for bit in bits {
                guard case .boolean(let b) = bit else {
                    return .failure(HubError("bit-string value is a list of booleans"))
                }
                out.append(b)
            }
            return .success(.bitString(BACnetBitString(out)))
        case ("object-identifier", .string(let text)):
            guard let id = BACnetObjectIdentifier(text) else {
                return .failure(HubError("object-identifier value must look like \"analog-input:1\""))
            }
            return .success(.objectIdentifier(id))
        case ("date", .table):
            guard let year = field("year", 1900...2154, offset: 1900), let month = field("month", 1...14),
                let day = field("day", 1...34), let weekday = field("weekday", 1...7)
            else { return .failure(HubError("date value: year 1900…2154, month 1…14, day 1…34, weekday 1…7")) }
            return .success(.date(BACnetDate(yearSince1900: year, month: month, day: day, weekday: weekday)))
        case ("time", .table):
            guard let hour = field("hour", 0...23), let minute = field("minute", 0...59),
                let second = field("second", 0...59), let hundredths = field("hundredths", 0...99)
            else { return .failure(HubError("time value: hour 0…23, minute 0…59, second 0…59, hundredths 0…99")) }
            return .success(.time(BACnetTime(hour: hour, minute: minute, second: second, hundredths: hundredths)))
        default:
            return .failure(
                HubError(
                    "type '\(type)' with this value is not writable (null, boolean, unsigned, signed, real, double, enumerated, character-string, octet-string, bit-string, date, time, object-identifier)"
                )
            )
        }
    }
}
