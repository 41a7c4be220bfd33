import PlenumCore

/// One connection's subscriptions: the protocol logic, free of sockets.
///
/// Each event returns the actions the connection must take, in order. The scheduler carries
/// them out (index changes, snapshots, replies); tests drive this struct directly.
///
/// Bounded and linear: a connection holds at most `limit` patterns totalling at most
/// `byteLimit` bytes of text; a request naming more than `limit` channels is refused before
/// its patterns are parsed, and de-duplication uses hashing, so one message costs time linear
/// in its size.
struct SubscriptionSet {
    enum Action: Equatable {
        /// Send this message now.
        case reply([UInt8])
        /// Answer with an `error` message; the connection stays open.
        case refuse(ProtocolError)
        /// Start delivering channels matching these newly added patterns.
        case index([ChannelPattern])
        /// Send one snapshot of every channel matching these patterns (what the client asked for).
        case snapshot([ChannelPattern], id: JSONValue?)
        /// Stop delivering channels matched only by these removed patterns.
        case unindex([ChannelPattern])
        /// Acknowledge, then replay what the client missed since `position` (or, when that is
        /// no longer possible, send a snapshot), for these patterns.
        case resume([ChannelPattern], id: JSONValue?, position: ResumePosition)
        /// Hand this write to the command router; answer `written` when it is settled.
        case write(ChannelPath, value: JSONValue, id: JSONValue?)
    }

    let limit: Int
    let byteLimit: Int
    /// Who holds these subscriptions: a pattern it may read nothing of is refused (`forbidden`).
    /// Set once the connection has authenticated.
    var reader: Identity = AccessPolicy.anonymousIdentity
    /// In the order subscribed.
    private(set) var patterns: [ChannelPattern] = []
    private var held: Set<ChannelPattern> = []
    /// UTF-8 bytes of the patterns held.
    private(set) var heldBytes = 0

    init(limit: Int, byteLimit: Int = .max) {
        self.limit = limit
        self.byteLimit = byteLimit
    }

    /// A text message arrived.
    mutating func received(text: [UInt8]) -> [Action] {
        switch ClientRequest.parse(text, maxChannels: limit) {
        case .failure(let error):
            return [.refuse(error)]
        case .success(.ping(let id)):
            return [.reply(ServerMessage.pong(id: id))]
        case .success(.subscribe(let requested, let id, let resume)):
            return subscribe(requested, id: id, resume: resume)
        case .success(.unsubscribe(let requested, let id)):
            return unsubscribe(requested, id: id)
        case .success(.auth(_, let id)):
            return [.refuse(ProtocolError(.invalidMessage, "already authenticated as '\(reader.name)'", id: id))]
        case .success(.write(let channel, let value, let id)):
            return [.write(channel, value: value, id: id)]
        }
    }

    /// A binary message arrived: the protocol is JSON text only.
    func receivedBinary() -> [Action] {
        [.refuse(ProtocolError(.binaryUnsupported, "binary messages are not supported; send JSON as text frames"))]
    }

    mutating func subscribe(_ requested: [ChannelPattern], id: JSONValue?, resume: ResumePosition? = nil) -> [Action] {
        // Per channel, not per pattern: a pattern partly readable is subscribed and delivers what
        // is readable (the scheduler filters each channel); one the token can read nothing of
        // is refused, naming it, and nothing of the request is subscribed.
        let forbidden = requested.filter { !reader.mayRead(anyOf: $0) }
        guard forbidden.isEmpty else {
            let names = forbidden.map { "'\($0.string)'" }.joined(separator: ", ")
            let error = ProtocolError(
                .forbidden,
                "token '\(reader.name)' may read no channel matching \(names)",
                id: id
            )
            return [.refuse(error)]
        }
        var added: [ChannelPattern] = []
        var seen: Set<ChannelPattern> = []
        var addedBytes = 0
        for pattern in requested where !held.contains(pattern) && seen.insert(pattern).inserted {
            added.append(pattern)
            addedBytes += pattern.string.utf8.count
        }
        guard patterns.count + added.count <= limit else {
            let error = ProtocolError(
                .tooManySubscriptions,
                "this would hold \(patterns.count + added.count) subscriptions; at most \(limit) are allowed per connection",
                id: id
            )
            return [.refuse(error)]
        }
        guard heldBytes + addedBytes <= byteLimit else {
            let error = ProtocolError(
                .tooManySubscriptions,
                "this would hold \(heldBytes + addedBytes) bytes of patterns; at most \(byteLimit) are allowed per connection",
                id: id
            )
            return [.refuse(error)]
        }
        patterns.append(contentsOf: added)
        held.formUnion(added)
        heldBytes += addedBytes
        let index: [Action] = added.isEmpty ? [] : [.index(added)]
        if let resume { return index + [.resume(requested, id: id, position: resume)] }
        return [.reply(ServerMessage.subscribed(requested, id: id))] + index + [.snapshot(requested, id: id)]
    }

    mutating func unsubscribe(_ requested: [ChannelPattern], id: JSONValue?) -> [Action] {
        let asked = Set(requested)
        let removed = patterns.filter { asked.contains($0) }
        if !removed.isEmpty {
            patterns.removeAll { asked.contains($0) }
            held.subtract(removed)
            heldBytes -= removed.reduce(0) { $0 + $1.string.utf8.count }
        }
        var actions: [Action] = [.reply(ServerMessage.unsubscribed(requested, id: id))]
        if !removed.isEmpty { actions.insert(.unindex(removed), at: 0) }
        return actions
    }

    /// Whether any remaining pattern matches `path`.
    func matches(_ path: ChannelPath) -> Bool { patterns.contains { $0.matches(path) } }
}
