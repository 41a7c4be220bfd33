public import PlenumCore

/// A value the trend store keeps: a channel's value when it is a number.
///
/// Integers stay integers (a raw sample published as `42` reads back as `42`); `true`/`false`
/// are kept as the integers 1/0 so a pump's on/off state can be charted. Strings, `null`,
/// arrays and objects are not trended, nor are non-finite doubles (which JSON cannot carry).
public enum TrendNumber: Sendable, Equatable {
    case integer(Int64)
    case double(Double)

    public init?(_ value: JSONValue) {
        switch value {
        case .integer(let i): self = .integer(i)
        case .double(let d) where d.isFinite: self = .double(d)
        case .bool(let b): self = .integer(b ? 1 : 0)
        default: return nil
        }
    }

    public var doubleValue: Double {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .integer(let i): .integer(i)
        case .double(let d): .double(d)
        }
    }
}
