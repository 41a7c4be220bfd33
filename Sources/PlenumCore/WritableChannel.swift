/// What a device accepts on one of its channels: declared under `writable:` in hub.yaml,
/// enforced by `CommandRouter` before the write reaches the device's script.
public struct WritableChannel: Sendable, Equatable {
    /// The type of value the channel accepts.
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        /// Any finite number (delivered as a float).
        case number
        /// A whole number (a float with an integral value is accepted and delivered as an integer).
        case integer
        case boolean
        case string
        /// One of these strings.
        case enumeration([String])

        public var description: String {
            switch self {
            case .number: "number"
            case .integer: "integer"
            case .boolean: "boolean"
            case .string: "string"
            case .enumeration: "enum"
            }
        }
    }

    /// At most `count` writes in any `seconds`-long window (all callers together).
    public struct RateLimit: Sendable, Equatable {
        public var count: Int
        public var seconds: Double

        public init(count: Int, seconds: Double) {
            self.count = count
            self.seconds = seconds
        }
    }

    /// The channel's absolute path.
    public var path: ChannelPath
    /// The channel as declared (relative to the device prefix): what the script sees as `cmd.channel`.
    public var name: String
    public var kind: Kind
    /// Inclusive bounds for `number` and `integer`.
    public var minimum: Double?
    public var maximum: Double?
    /// Longest accepted `string`, in UTF-8 bytes.
    public var maxLength: Int
    public var rateLimit: RateLimit?
    /// How long the script has to answer, from the moment the write is accepted; nil: the
    /// router's default (`commands.timeout_s`).
    public var timeoutSeconds: Double?

    /// Strings are at most this long unless a declaration says otherwise.
    public static let defaultMaxLength = 1_024

    public init(
        path: ChannelPath,
        name: String? = nil,
        kind: Kind,
        minimum: Double? = nil,
        maximum: Double? = nil,
        maxLength: Int = WritableChannel.defaultMaxLength,
        rateLimit: RateLimit? = nil,
        timeoutSeconds: Double? = nil
    ) {
        self.path = path
        self.name = name ?? path.string
        self.kind = kind
        self.minimum = minimum
        self.maximum = maximum
        self.maxLength = maxLength
        self.rateLimit = rateLimit
        self.timeoutSeconds = timeoutSeconds
    }

    /// The value as the device receives it, or why it is refused (`wrong_type`, `out_of_range`).
    public func validate(_ value: JSONValue) -> Result<JSONValue, WriteOutcome> {
        switch (kind, value) {
        case (.number, .integer(let i)):
            return inRange(Double(i), shown: String(i)).map { .double($0) }
        case (.number, .double(let d)):
            return inRange(d, shown: String(d)).map { .double($0) }
        case (.integer, .integer(let i)):
            return inRange(Double(i), shown: String(i)).map { _ in .integer(i) }
        case (.integer, .double(let d)):
            // Range-checked before the conversion: 2^63 and beyond do not fit.
            guard d.rounded() == d, d >= -9.223_372_036_854_775_808e18, d < 9.223_372_036_854_775_808e18 else {
                return .failure(WriteOutcome(.wrongType, "\(path) takes an integer, got \(d)"))
            }
            return inRange(d, shown: String(d)).map { _ in .integer(Int64(d)) }
        case (.boolean, .bool):
            return .success(value)
        case (.string, .string(let s)):
            guard s.utf8.count <= maxLength else {
                return .failure(
                    WriteOutcome(.outOfRange, "\(path) takes at most \(maxLength) bytes of text, got \(s.utf8.count)")
                )
            }
            return .success(value)
        case (.enumeration(let values), .string(let s)):
            guard values.contains(s) else {
                return .failure(
                    WriteOutcome(
                        .outOfRange,
                        "\(path) takes one of \(values.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(s)\""
                    )
                )
            }
            return .success(value)
        default:
            return .failure(
                WriteOutcome(.wrongType, "\(path) takes \(expected), got \(Self.describe(value))")
            )
        }
    }

    private func inRange(_ number: Double, shown: String) -> Result<Double, WriteOutcome> {
        if let minimum, number < minimum {
            return .failure(WriteOutcome(.outOfRange, "\(shown) is below the minimum \(Self.show(minimum)) of \(path)"))
        }
        if let maximum, number > maximum {
            return .failure(WriteOutcome(.outOfRange, "\(shown) is above the maximum \(Self.show(maximum)) of \(path)"))
        }
        return .success(number)
    }

    private var expected: String {
        switch kind {
        case .number: "a number"
        case .integer: "an integer"
        case .boolean: "true or false"
        case .string: "a string"
        case .enumeration(let values): "one of \(values.map { "\"\($0)\"" }.joined(separator: ", "))"
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer(let i): "the integer \(i)"
        case .double(let d): "the number \(d)"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// `4` for 4.0, `4.5` for 4.5.
    public static func show(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
