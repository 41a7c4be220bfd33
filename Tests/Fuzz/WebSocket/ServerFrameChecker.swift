import NIOCore
import PlenumCore
import PlenumFuzzSupport

#if canImport(Glibc)
import Glibc
#endif

/// What a client may rely on in the bytes the hub sends (RFC 6455 §5 and docs/protocol.md):
/// whole, unmasked, final frames of the opcodes the hub uses, minimal length encodings, control
/// frames of at most 125 bytes, a `welcome` first, JSON text messages with a known `type`, valid
/// close frames, and per channel versions that only go up.
final class ServerFrameChecker {
    struct Frame {
        var opcode: UInt8
        var payload: [UInt8]
    }

    private var messages = 0
    /// The newest version the client holds per channel.
    private var versions: [String: Int64] = [:]
    private(set) var closeCode: UInt16?
    private(set) var closed = false

    /// `PLENUM_FUZZ_TRACE=1`: print each frame the client reads (to see what an input does).
    static let trace = getenv("PLENUM_FUZZ_TRACE") != nil

    static let types: Set<String> = [
        "welcome", "subscribed", "unsubscribed", "snapshot", "update", "pong", "error", "written",
    ]

    /// The frames of one write, each checked for its form; a write holds whole frames only.
    func split(_ buffer: ByteBuffer) -> [Frame] {
        var buffer = buffer
        var frames: [Frame] = []
        invariant(buffer.readableBytes > 0, "an empty write")
        while buffer.readableBytes > 0 {
            guard let first = buffer.readInteger(as: UInt8.self), let second = buffer.readInteger(as: UInt8.self) else {
                invariant(false, "a write ends inside a frame header")
                return frames
            }
            invariant(first & 0x80 != 0, "a fragmented server frame")
            invariant(first & 0x70 == 0, "reserved bits set in a server frame")
            let opcode = first & 0x0F
            invariant([0x1, 0x8, 0x9, 0xA].contains(opcode), "server frame with opcode \(opcode)")
            invariant(second & 0x80 == 0, "a masked server frame")
            var length = Int(second & 0x7F)
            if length == 126 {
                let extended = buffer.readInteger(as: UInt16.self)
                invariant(extended.map { $0 >= 126 } ?? false, "16-bit length for a short frame")
                length = Int(extended ?? 0)
            } else if length == 127 {
                let extended = buffer.readInteger(as: UInt64.self)
                invariant(extended.map { $0 > 0xFFFF && $0 < 1 << 63 } ?? false, "64-bit length for a short frame")
                length = Int(extended ?? 0)
            }
            invariant(opcode < 0x8 || length <= 125, "a control frame of \(length) bytes")
            guard let payload = buffer.readBytes(length: length) else {
                invariant(false, "a write ends inside a frame")
                return frames
            }
            frames.append(Frame(opcode: opcode, payload: payload))
        }
        return frames
    }

    /// The client read `buffer`: the messages in it, in order.
    func received(_ buffer: ByteBuffer) {
        for frame in split(buffer) {
            if Self.trace {
                print("opcode \(frame.opcode): \(String(decoding: frame.payload.prefix(300), as: UTF8.self))")
            }
            invariant(!closed, "a frame after the close frame")
            switch frame.opcode {
            case 0x1: text(frame.payload)
            case 0x8: close(frame.payload)
            default: break
            }
        }
    }

    private func close(_ payload: [UInt8]) {
        closed = true
        guard !payload.isEmpty else { return }
        invariant(payload.count >= 2, "a close frame of 1 byte")
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        let valid = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
        invariant(valid, "close code \(code) may not be sent")
        invariant(String(validating: payload.dropFirst(2), as: UTF8.self) != nil, "a close reason that is not UTF-8")
        closeCode = code
    }

    private func text(_ payload: [UInt8]) {
        invariant(String(validating: payload, as: UTF8.self) != nil, "a text message that is not UTF-8")
        guard let message = try? JSONParser.parse(payload) else {
            invariant(false, "a text message that is not JSON: \(String(decoding: payload.prefix(200), as: UTF8.self))")
            return
        }
        guard let type = message["type"]?.stringValue, Self.types.contains(type) else {
            invariant(false, "a message without a known type: \(message.jsonString.prefix(200))")
            return
        }
        messages += 1
        invariant((messages == 1) == (type == "welcome"), "the first message is not the welcome, or a second welcome")
        switch type {
        case "update":
            version(of: message, strictlyNewer: true)
        case "snapshot":
            guard case .array(let entries)? = message["channels"] else {
                return invariant(false, "a snapshot without channels")
            }
            var previous: String?
            for entry in entries {
                version(of: entry, strictlyNewer: false)
                let path = entry["channel"]?.stringValue ?? ""
                invariant(
                    previous.map { Array($0.utf8).lexicographicallyPrecedes(Array(path.utf8)) } ?? true,
                    "snapshot not sorted by path"
                )
                previous = path
            }
        case "subscribed":
            // A resumed subscription replays from where the client says it was.
            if message["recovered"] == .bool(true) { versions.removeAll() }
        default:
            break
        }
    }

    /// Per channel, versions only go up: an update brings a newer one than the client holds, a
    /// snapshot none older.
    private func version(of entry: JSONValue, strictlyNewer: Bool) {
        guard let channel = entry["channel"]?.stringValue, case .integer(let version)? = entry["version"],
            entry["ts"]?.numberValue != nil, entry["value"] != nil
        else {
            return invariant(
                false,
                "a channel entry without channel, version, ts and value: \(entry.jsonString.prefix(200))"
            )
        }
        invariant(version >= 1, "version \(version)")
        if let held = versions[channel] {
            invariant(
                strictlyNewer ? version > held : version >= held,
                "\(channel): version \(version) after \(held)"
            )
        }
        versions[channel] = version
    }
}
