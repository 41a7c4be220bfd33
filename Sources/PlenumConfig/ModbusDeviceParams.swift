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
