/// What a configuration file may hold. Beyond any of these the file is refused with a located
/// error while it is being read, before anything past the limit is built, so `plenum check`, `plenum run`
/// and a SIGHUP reload spend bounded time and memory on any file (docs/configuration.md, "Limits").
///
/// A real plant's `hub.yaml` is a few KiB with `params` a few levels deep; the limits are two to
/// three orders of magnitude above that.
public enum ConfigLimits {
    /// Bytes in the file. Reading stops one byte past this, whatever the file is (a FIFO,
    /// `/dev/zero`), so memory stays bounded before parsing begins.
    public static let maxFileBytes = 1 << 20
    /// Lists and mappings nested in one another, the top-level mapping counting as one. A device's
    /// `params` sit at level 4, so they may nest 60 more levels.
    public static let maxDepth = 64
    /// Scalars, aliases, lists and mappings, each counting one (a mapping entry counts its key and its value);
    /// after expanding aliases the document may not exceed this either.
    public static let maxNodes = 100_000
    /// Bytes in one scalar (a key or a value) or anchor name.
    public static let maxScalarBytes = 64 << 10
}
