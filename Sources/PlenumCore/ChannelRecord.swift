/// What a `ChannelStore` holds of one channel, as plain values: its newest version and the
/// versions before it that clients may resume from. Used to save the store at a clean stop and
/// to rebuild it at the next start (`ChannelStore(epoch:…, restoring:)`).
public struct ChannelRecord: Sendable, Equatable {
    /// One version of the channel.
    public struct Entry: Sendable, Equatable {
        public var version: UInt64
        /// Publish time, microseconds since the Unix epoch.
        public var timestamp: Int64
        public var value: JSONValue

        public init(version: UInt64, timestamp: Int64, value: JSONValue) {
            self.version = version
            self.timestamp = timestamp
            self.value = value
        }
    }

    public var path: ChannelPath
    /// Oldest first; the last one is the channel's latest version. Versions strictly increase.
    public var versions: [Entry]

    public init(path: ChannelPath, versions: [Entry]) {
        self.path = path
        self.versions = versions
    }
}
