/// A BACnet property identifier (22 bits). Standard properties have their standard names
/// (`present-value`, `priority-array`, `status-flags`, …); any other number — newer standard
/// properties not in this table, proprietary ones from 512 up — is shown and parsed as a number.
public struct BACnetPropertyIdentifier: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init?(rawValue: UInt32) {
        guard rawValue <= 0x3F_FFFF else { return nil }
        self.rawValue = rawValue
    }

    private init(_ value: UInt32) { rawValue = value }

    public static let all = BACnetPropertyIdentifier(8)
    public static let objectIdentifier = BACnetPropertyIdentifier(75)
    public static let objectList = BACnetPropertyIdentifier(76)
    public static let objectName = BACnetPropertyIdentifier(77)
    public static let presentValue = BACnetPropertyIdentifier(85)
    public static let priorityArray = BACnetPropertyIdentifier(87)
    public static let statusFlags = BACnetPropertyIdentifier(111)
    public static let units = BACnetPropertyIdentifier(117)

    public var description: String { Self.names[Int(rawValue)] ?? String(rawValue) }

    /// `present-value` (also `present_value`, `presentValue` and `PRESENT-VALUE`), or a number.
    public init?(name: String) {
        if let value = Self.byName[Self.normalised(name)] {
            self.init(value)
        } else if let number = UInt32(name) {
            self.init(rawValue: number)
        } else {
            return nil
        }
    }

    /// `presentValue` / `present_value` → `present-value`.
    private static func normalised(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count + 4)
        var previousIsLower = false
        for character in name {
            if character == "_" {
                out.append("-")
            } else if character.isUppercase {
                if previousIsLower { out.append("-") }
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
            previousIsLower = character.isLowercase || character.isNumber
        }
        return out
    }

    /// Properties whose value is an array or a list: read whole, they always come back as a
    /// list, even with one element.
    public var isList: Bool { Self.lists.contains(rawValue) }

    private static let lists: Set<UInt32> = [
        7, 23, 30, 38, 39, 53, 54, 76, 87, 102, 110, 116, 122, 123, 130, 152, 154, 159, 165, 166, 202, 206,
        209, 210, 211, 220, 221, 371,
    ]

    private static let names: [Int: String] = [
        0: "acked-transitions", 1: "ack-required", 2: "action", 3: "action-text", 4: "active-text",
        5: "active-vt-sessions", 6: "alarm-value", 7: "alarm-values", 8: "all", 9: "all-writes-successful",
        10: "apdu-segment-timeout", 11: "apdu-timeout", 12: "application-software-version", 13: "archive",
        14: "bias", 15: "change-of-state-count", 16: "change-of-state-time", 17: "notification-class",
        19: "controlled-variable-reference", 20: "controlled-variable-units", 21: "controlled-variable-value",
        22: "cov-increment", 23: "date-list", 24: "daylight-savings-status", 25: "deadband",
        26: "derivative-constant", 27: "derivative-constant-units", 28: "description", 29: "description-of-halt",
        30: "device-address-binding", 31: "device-type", 32: "effective-period", 33: "elapsed-active-time",
        34: "error-limit", 35: "event-enable", 36: "event-state", 37: "event-type", 38: "exception-schedule",
        39: "fault-values", 40: "feedback-value", 41: "file-access-method", 42: "file-size", 43: "file-type",
        44: "firmware-revision", 45: "high-limit", 46: "inactive-text", 47: "in-process", 48: "instance-of",
        49: "integral-constant", 50: "integral-constant-units", 51: "issue-confirmed-notifications",
        52: "limit-enable", 53: "list-of-group-members", 54: "list-of-object-property-references",
        55: "list-of-session-keys", 56: "local-date", 57: "local-time", 58: "location", 59: "low-limit",
        60: "manipulated-variable-reference", 61: "maximum-output", 62: "max-apdu-length-accepted",
        63: "max-info-frames", 64: "max-master", 65: "max-pres-value", 66: "minimum-off-time",
        67: "minimum-on-time", 68: "minimum-output", 69: "min-pres-value", 70: "model-name",
        71: "modification-date", 72: "notify-type", 73: "number-of-apdu-retries", 74: "number-of-states",
        75: "object-identifier", 76: "object-list", 77: "object-name", 78: "object-property-reference",
        79: "object-type", 80: "optional", 81: "out-of-service", 82: "output-units", 83: "event-parameters",
        84: "polarity", 85: "present-value", 86: "priority", 87: "priority-array", 88: "priority-for-writing",
        89: "process-identifier", 90: "program-change", 91: "program-location", 92: "program-state",
        93: "proportional-constant", 94: "proportional-constant-units", 96: "protocol-object-types-supported",
        97: "protocol-services-supported", 98: "protocol-version", 99: "read-only", 100: "reason-for-halt",
        102: "recipient-list", 103: "reliability", 104: "relinquish-default", 105: "required", 106: "resolution",
        107: "segmentation-supported", 108: "setpoint", 109: "setpoint-reference", 110: "state-text",
        111: "status-flags", 112: "system-status", 113: "time-delay", 114: "time-of-active-time-reset",
        115: "time-of-state-count-reset", 116: "time-synchronization-recipients", 117: "units",
        118: "update-interval", 119: "utc-offset", 120: "vendor-identifier", 121: "vendor-name",
        122: "vt-classes-supported", 123: "weekly-schedule", 124: "attempted-samples", 125: "average-value",
        126: "buffer-size", 127: "client-cov-increment", 128: "cov-resubscription-interval",
        130: "event-time-stamps", 131: "log-buffer", 132: "log-device-object-property", 133: "enable",
        134: "log-interval", 135: "maximum-value", 136: "minimum-value", 137: "notification-threshold",
        139: "protocol-revision", 140: "records-since-notification", 141: "record-count", 142: "start-time",
        143: "stop-time", 144: "stop-when-full", 145: "total-record-count", 146: "valid-samples",
        147: "window-interval", 148: "window-samples", 149: "maximum-value-timestamp",
        150: "minimum-value-timestamp", 151: "variance-value", 152: "active-cov-subscriptions",
        153: "backup-failure-timeout", 154: "configuration-files", 155: "database-revision", 156: "direct-reading",
        157: "last-restore-time", 158: "maintenance-required", 159: "member-of", 160: "mode",
        161: "operation-expected", 162: "setting", 163: "silenced", 164: "tracking-value", 165: "zone-members",
        166: "life-safety-alarm-values", 167: "max-segments-accepted", 168: "profile-name",
        169: "auto-slave-discovery", 170: "manual-slave-address-binding", 171: "slave-address-binding",
        172: "slave-proxy-enable", 173: "last-notify-record", 174: "schedule-default", 175: "accepted-modes",
        176: "adjust-value", 177: "count", 178: "count-before-change", 179: "count-change-time", 180: "cov-period",
        181: "input-reference", 182: "limit-monitoring-interval", 183: "logging-object", 184: "logging-record",
        185: "prescale", 186: "pulse-rate", 187: "scale", 188: "scale-factor", 189: "update-time",
        190: "value-before-change", 191: "value-set", 192: "value-change-time", 193: "align-intervals",
        195: "interval-offset", 196: "last-restart-reason", 197: "logging-type",
        202: "restart-notification-recipients", 203: "time-of-device-restart", 204: "time-synchronization-interval",
        205: "trigger", 206: "utc-time-synchronization-recipients", 207: "node-subtype", 208: "node-type",
        209: "structured-object-list", 210: "subordinate-annotations", 211: "subordinate-list",
        212: "actual-shed-level", 213: "duty-window", 214: "expected-shed-level", 215: "full-duty-baseline",
        218: "requested-shed-level", 219: "shed-duration", 220: "shed-level-descriptions", 221: "shed-levels",
        222: "state-description", 351: "event-message-texts", 353: "event-detection-enable",
        357: "reliability-evaluation-inhibit", 371: "property-list", 372: "serial-number",
        431: "current-command-priority",
    ]

    private static let byName: [String: UInt32] = Dictionary(
        uniqueKeysWithValues: names.map { ($0.value, UInt32($0.key)) }
    )
}
