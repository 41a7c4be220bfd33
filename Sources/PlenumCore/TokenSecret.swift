#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh access token: 32 bytes (256 bits) from the kernel's random generator (getrandom), as 43
/// characters of unpadded base64url — safe in an `Authorization` header and in a
/// `Sec-WebSocket-Protocol` value (`plenum.bearer.<token>`).
public enum TokenSecret {
    /// Characters a token may contain (base64url); the length is `length`.
    public static let length = 43

    /// A new random token; fails only when the kernel's random generator fails.
    public static func generate() throws(SystemError) -> String {
        // getentropy(3) is glibc's wrapper of the getrandom(2) system call for up to 256 bytes:
        // it blocks only until the kernel's generator is seeded, and fills the whole buffer.
        var bytes = [UInt8](repeating: 0, count: 32)
        let status = bytes.withUnsafeMutableBytes { getentropy($0.baseAddress, $0.count) }
        guard status == 0 else { throw SystemError("getentropy") }
        return base64URL(bytes)
    }

    /// Unpadded base64url (RFC 4648 §5).
    public static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * UInt32(offset)) }
            for position in 0..<(chunk.count + 1) {
                out.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
