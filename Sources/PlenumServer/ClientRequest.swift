import PlenumCore

/// A message a client may send, parsed and validated. See docs/protocol.md.
enum ClientRequest: Equatable {
    case subscribe([ChannelPattern], id: JSONValue?, resume: ResumePosition?)
    case unsubscribe([ChannelPattern], id: JSONValue?)
    case ping(id: JSONValue?)
    case write(ChannelPath, value: JSONValue, id: JSONValue?)

    /// `{"op":"auth","token":"…"}`: the first message of a connection that opened without a token.
    case auth(token: String, id: JSONValue?)

    static let ops = ["subscribe", "unsubscribe", "ping", "write", "auth"]

    /// Parses one text message; a failure names the problem for an `error` reply. A list of more
    /// than `maxChannels` channels is refused before any of them is parsed.
    static func parse(_ text: [UInt8], maxChannels: Int = .max) -> Result<ClientRequest, ProtocolError> {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            return .failure(ProtocolError(.invalidJSON, error.description))
        }
        guard case .object(let object) = json else {
            return .failure(ProtocolError(.invalidMessage, "a message must be a JSON object with an \"op\""))
        }
        let id = object["id"]
        guard let opValue = object["op"] else {
            return .failure(ProtocolError(.invalidMessage, "missing \"op\"", id: id))
        }
        guard case .string(let op) = opValue else {
            return .failure(ProtocolError(.invalidMessage, "\"op\" must be a string", id: id))
        }
        switch op {
        case "ping":
            return .success(.ping(id: id))
        case "auth":
            guard case .string(let token)? = object["token"] else {
                return .failure(ProtocolError(.invalidMessage, "\"auth\" needs \"token\": a string", id: id))
            }
            return .success(.auth(token: token, id: id))
        case "write":
            guard case .string(let text)? = object["channel"] else {
                return .failure(
                    ProtocolError(.invalidMessage, "\"write\" needs \"channel\": the path of one channel", id: id)
                )
            }
            let channel: ChannelPath
            do {
                channel = try ChannelPath(text)
            } catch {
                return .failure(ProtocolError(.invalidMessage, "'\(text)' is not a channel path: \(error)", id: id))
            }
            guard let value = object["value"] else {
                return .failure(ProtocolError(.invalidMessage, "\"write\" needs \"value\"", id: id))
            }
            return .success(.write(channel, value: value, id: id))
        case "subscribe", "unsubscribe":
            guard case .array(let items)? = object["channels"] else {
                return .failure(
                    ProtocolError(
                        .invalidMessage,
                        "\"\(op)\" needs \"channels\": an array of paths or patterns",
                        id: id
                    )
                )
            }
            guard items.count <= maxChannels else {
                return .failure(
                    ProtocolError(
                        .tooManySubscriptions,
                        "\(items.count) channels in one message; at most \(maxChannels) are allowed per connection",
                        id: id
                    )
                )
            }
            var patterns: [ChannelPattern] = []
            patterns.reserveCapacity(items.count)
            for item in items {
                guard case .string(let text) = item else {
                    return .failure(
                        ProtocolError(
                            .invalidMessage,
                            "\"channels\" must hold strings, found \(item.jsonString)",
                            id: id
                        )
                    )
                }
                do {
                    patterns.append(try ChannelPattern(text))
                } catch {
                    return .failure(ProtocolError(.badPattern, "'\(text)': \(error)", id: id))
                }
            }
            guard op == "subscribe" else { return .success(.unsubscribe(patterns, id: id)) }
            guard let resume = object["resume"] else { return .success(.subscribe(patterns, id: id, resume: nil)) }
            switch ResumePosition.parse(resume) {
            case .success(let position): return .success(.subscribe(patterns, id: id, resume: position))
            case .failure(let problem): return .failure(ProtocolError(.invalidMessage, problem.message, id: id))
            }
        default:
            return .failure(
                ProtocolError(
                    .unknownOp,
                    "unknown op '\(op)'; expected one of: \(ops.joined(separator: ", "))",
                    id: id
                )
            )
        }
    }
}

/// Where a reconnecting client left off: the hub epoch it was connected to and the last
/// version it received of each channel.
struct ResumePosition: Equatable {
    var epoch: String
    var versions: [String: UInt64]

    struct Problem: Error {
        var message: String
    }

    /// `{"epoch":"…","channels":{"/path":42,…}}`
    static func parse(_ json: JSONValue) -> Result<ResumePosition, Problem> {
        let shape = "\"resume\" must be {\"epoch\": string, \"channels\": {path: version, …}}"
        guard case .object(let object) = json, case .string(let epoch)? = object["epoch"],
            case .object(let channels)? = object["channels"]
        else { return .failure(Problem(message: shape)) }
        var versions: [String: UInt64] = [:]
        for (path, value) in channels {
            guard case .integer(let version) = value, version >= 0 else {
                return .failure(Problem(message: "\"resume\": the version of '\(path)' must be a non-negative integer"))
            }
            versions[path] = UInt64(version)
        }
        return .success(ResumePosition(epoch: epoch, versions: versions))
    }
}

/// Why a client message was refused; sent as `{"type":"error","code":..,"message":..}`.
/// The connection stays open.
struct ProtocolError: Error, Equatable {
    enum Code: String, CaseIterable {
        case invalidJSON = "invalid_json"
        case invalidMessage = "invalid_message"
        case unknownOp = "unknown_op"
        case badPattern = "bad_pattern"
        case tooManySubscriptions = "too_many_subscriptions"
        case binaryUnsupported = "binary_unsupported"
        /// The connection's token may read nothing a requested pattern matches.
        case forbidden
    }

    var code: Code
    var message: String
    var id: JSONValue?

    init(_ code: Code, _ message: String, id: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.id = id
    }
}
