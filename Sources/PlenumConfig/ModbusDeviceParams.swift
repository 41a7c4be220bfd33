public import PlenumCore

/// The `params` of a device whose script is `modbus_device.lua`, typed: `plenum check` (and
/// every load) refuses an invalid register map with a located error, before the script runs.
/// The script reads the same keys (plugins/modbus_device.lua; docs/modbus.md).
public struct ModbusDeviceParams: Sendable, Equatable {
    public enum Link: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case rtu(serial: String, baud: Int, parity: String, dataBits: Int, stopBits: Int)
    }

    public enum Table: String, Sendable, CaseIterable {
        case holding, input, coil, discrete

        public var holdsBits: Bool { self == .coil || self == .discrete }
    }

    public struct Point: Sendable, Equatable {
        public var name: String
        public var table: Table = .holding
        public var address: Int = 0
        /// Register type (`u16` … `f64`); nil for coils and discrete inputs.
        public var type: String?
        public var order: String = "ABCD"
        public var scale: Double = 1
        public var offset: Double = 0
        public var unit: String?
        public var pollSeconds: Double?
        /// Raw value (as written in hub.yaml) → the name published instead.
        public var values: [String: String] = [:]
        /// Clients may write this point (`writable:`; holding registers and coils only).
        public var writable: Writable?

        /// What clients may write to the point: its channel, typed by the register map.
        public func writableChannel(prefix: ChannelPath) -> WritableChannel? {
            guard let writable, let path = try? prefix.resolving(name) else { return nil }
            let kind: WritableChannel.Kind
            var minimum = writable.minimum
            var maximum = writable.maximum
            if !values.isEmpty {
                // In raw order: 0, 1, 2… (false before true).
                func rank(_ key: String) -> Double { Double(key) ?? (key == "true" ? 1 : 0) }
                kind = .enumeration(values.sorted { rank($0.key) < rank($1.key) }.map(\.value))
                minimum = nil
                maximum = nil
            } else if table.holdsBits {
                kind = .boolean
            } else {
                let integral = type != "f32" && type != "f64" && scale.rounded() == scale && offset.rounded() == offset
                kind = integral ? .integer : .number
                if let range = engineeringRange {
                    minimum = Swift.max(minimum ?? range.lowerBound, range.lowerBound)
                    maximum = Swift.min(maximum ?? range.upperBound, range.upperBound)
                }
            }
            return WritableChannel(
                path: path,
                name: name,
                kind: kind,
                minimum: minimum,
                maximum: maximum,
                rateLimit: writable.rateLimit,
                timeoutSeconds: writable.timeoutSeconds
            )
        }

        /// The values the register can hold, after `scale` and `offset` (nil: unbounded, f64).
        public var engineeringRange: ClosedRange<Double>? {
            guard let raw = type.flatMap(ModbusDeviceParams.rawRange(of:)) else { return nil }
            let ends = [raw.lowerBound * scale + offset, raw.upperBound * scale + offset]
            return ends.min()!...ends.max()!
        }
    }

    /// A point's `writable:` options (its type follows from the register map).
    public struct Writable: Sendable, Equatable {
        public var minimum: Double?
        public var maximum: Double?
        public var rateLimit: WritableChannel.RateLimit?
        public var timeoutSeconds: Double?

        public init(
            minimum: Double? = nil,
            maximum: Double? = nil,
            rateLimit: WritableChannel.RateLimit? = nil,
            timeoutSeconds: Double? = nil
        ) {
            self.minimum = minimum
            self.maximum = maximum
            self.rateLimit = rateLimit
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// The raw values a register type holds (nil for f64: any double).
    public static func rawRange(of type: String) -> ClosedRange<Double>? {
        switch type {
        case "u16": 0...65_535
        case "i16": -32_768...32_767
        case "u32": 0...4_294_967_295
        case "i32": -2_147_483_648...2_147_483_647
        case "u64": 0...Double(UInt64.max).nextDown
        case "i64": -9_223_372_036_854_775_808...Double(Int64.max).nextDown
        case "f32": -3.402_823_466_385_288_6e38...3.402_823_466_385_288_6e38
        default: nil
        }
    }

    public var link: Link = .tcp(host: "", port: 502)
    public var unit: Int = 1
    public var timeout: Double = 1
    public var pollSeconds: Double = 1
    public var maxRegisters: Int = 125
    public var maxGap: Int = 0
    public var maxBackoffSeconds: Double = 30
    public var points: [Point] = []

    /// Register types and how many registers each takes.
    public static let registerTypes: [(name: String, width: Int)] = [
        ("u16", 1), ("i16", 1), ("u32", 2), ("i32", 2), ("f32", 2), ("u64", 4), ("i64", 4), ("f64", 4),
    ]
    public static let orders = ["ABCD", "CDAB", "BADC", "DCBA"]
    public static let baudRates = [
        1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
    ]

    /// The script this schema belongs to, matched by file name.
    public static func applies(toScript script: String) -> Bool {
        script == "modbus_device.lua" || script.hasSuffix("/modbus_device.lua")
    }

    public static func width(of type: String) -> Int? { registerTypes.first { $0.name == type }?.width }
}
