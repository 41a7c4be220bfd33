/// A BACnet object type (10 bits). Standard types have their standard names
/// (`analog-input`, `binary-value`, …); others — proprietary types from 128 up — are shown and
/// parsed as numbers, so nothing is lost in a round trip.
public struct BACnetObjectType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    /// Nil when `rawValue` does not fit in 10 bits.
    public init?(rawValue: UInt16) {
        guard rawValue <= 1023 else { return nil }
        self.rawValue = rawValue
    }

    fileprivate init(_ value: UInt16) { rawValue = value }

    public static let analogInput = BACnetObjectType(0)
    public static let analogOutput = BACnetObjectType(1)
    public static let analogValue = BACnetObjectType(2)
    public static let binaryInput = BACnetObjectType(3)
    public static let binaryOutput = BACnetObjectType(4)
    public static let binaryValue = BACnetObjectType(5)
    public static let device = BACnetObjectType(8)
    public static let multiStateInput = BACnetObjectType(13)
    public static let multiStateOutput = BACnetObjectType(14)
    public static let multiStateValue = BACnetObjectType(19)

    /// The standard name, or the number.
    public var description: String { Self.names[Int(rawValue)] ?? String(rawValue) }

    /// `analog-input`, `AI` / `ai` (the usual abbreviations), or a number 0…1023.
    public init?(name: String) {
        let lower = name.lowercased()
        if let value = Self.byName[lower] ?? Self.abbreviations[lower] {
            self.init(value)
        } else if let number = UInt16(name) {
            self.init(rawValue: number)
        } else {
            return nil
        }
    }

    /// Object families, for typing written present-values (binary → ENUMERATED, analog → REAL,
    /// multi-state → UNSIGNED).
    public var isBinary: Bool { [3, 4, 5, 55].contains(rawValue) }
    public var isAnalog: Bool { [0, 1, 2, 46].contains(rawValue) }
    public var isMultiState: Bool { [13, 14, 19].contains(rawValue) }

    private static let abbreviations: [String: UInt16] = [
        "ai": 0, "ao": 1, "av": 2, "bi": 3, "bo": 4, "bv": 5, "dev": 8, "msi": 13, "mso": 14, "msv": 19,
        "tl": 20,
    ]

    private static let names: [Int: String] = [
        0: "analog-input", 1: "analog-output", 2: "analog-value", 3: "binary-input", 4: "binary-output",
        5: "binary-value", 6: "calendar", 7: "command", 8: "device", 9: "event-enrollment", 10: "file",
        11: "group", 12: "loop", 13: "multi-state-input", 14: "multi-state-output", 15: "notification-class",
        16: "program", 17: "schedule", 18: "averaging", 19: "multi-state-value", 20: "trend-log",
        21: "life-safety-point", 22: "life-safety-zone", 23: "accumulator", 24: "pulse-converter",
        25: "event-log", 26: "global-group", 27: "trend-log-multiple", 28: "load-control",
        29: "structured-view", 30: "access-door", 31: "timer", 32: "access-credential", 33: "access-point",
        34: "access-rights", 35: "access-user", 36: "access-zone", 37: "credential-data-input",
        39: "bitstring-value", 40: "characterstring-value", 41: "date-pattern-value", 42: "date-value",
        43: "datetime-pattern-value", 44: "datetime-value", 45: "integer-value", 46: "large-analog-value",
        47: "octetstring-value", 48: "positive-integer-value", 49: "time-pattern-value", 50: "time-value",
        51: "notification-forwarder", 52: "alert-enrollment", 53: "channel", 54: "lighting-output",
        55: "binary-lighting-output", 56: "network-port", 57: "elevator-group", 58: "escalator", 59: "lift",
        60: "staging", 61: "audit-log", 62: "audit-reporter", 63: "color", 64: "color-temperature",
    ]

    private static let byName: [String: UInt16] = Dictionary(
        uniqueKeysWithValues: names.map { ($0.value, UInt16($0.key)) }
    )
}

/// An object identifier: type and instance (22 bits), written `analog-input:1`.
public struct BACnetObjectIdentifier: Hashable, Sendable, CustomStringConvertible {
    public let type: BACnetObjectType
    public let instance: UInt32

    /// The largest instance; 4194303 also means "any device" in a ReadProperty of a Device.
    public static let maxInstance: UInt32 = 0x3F_FFFF

    public init?(type: BACnetObjectType, instance: UInt32) {
        guard instance <= Self.maxInstance else { return nil }
        self.type = type
        self.instance = instance
    }

    /// The 32-bit encoding: type in the top 10 bits, instance in the low 22.
    public init(rawValue: UInt32) {
        type = BACnetObjectType(UInt16(rawValue >> 22))
        instance = rawValue & Self.maxInstance
    }

    public var rawValue: UInt32 { UInt32(type.rawValue) << 22 | instance }

    /// `analog-input:1`, `AV:3`, `8:1234`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"),
            let type = BACnetObjectType(name: String(text[..<colon])),
            let instance = UInt32(text[text.index(after: colon)...])
        else { return nil }
        self.init(type: type, instance: instance)
    }

    public var description: String { "\(type):\(instance)" }
}
