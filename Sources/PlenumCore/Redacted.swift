/// A secret from configuration (a broker password): carried to the one place that uses it, and
/// never printed — `description`, `debugDescription` and reflection all show `<redacted>`, so a
/// configuration dumped into a log or a test failure does not leak it.
public struct Redacted: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The secret itself; read it only where it is handed over (to libmosquitto).
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
