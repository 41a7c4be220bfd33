/// A bounds-checked cursor over received bytes. Every read checks what is left first, so a
/// short or lying packet becomes `BACnetDecodingError.truncated`, never an out-of-range
/// subscript.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private(set) var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    var remaining: Int { bytes.endIndex - index }
    var isAtEnd: Bool { index >= bytes.endIndex }

    /// The next byte without consuming it, or nil at the end.
    func peek() -> UInt8? { isAtEnd ? nil : bytes[index] }

    mutating func u8(_ what: @autoclosure () -> String) throws(BACnetDecodingError) -> UInt8 {
        guard index < bytes.endIndex else { throw .truncated(what()) }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func u16(_ what: @autoclosure () -> String) throws(BACnetDecodingError) -> UInt16 {
        guard remaining >= 2 else { throw .truncated(what()) }
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(BACnetDecodingError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated(what()) }
        defer { index += 4 }
        return UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8
            | UInt32(bytes[index + 3])
    }

    /// The next `count` bytes; `count` is checked against what is left before anything is read.
    mutating func take(
        _ count: Int,
        _ what: @autoclosure () -> String
    ) throws(BACnetDecodingError) -> ArraySlice<
        UInt8
    > {
        guard count >= 0, count <= remaining else {
            throw .truncated("\(what()) needs \(count) bytes, \(remaining) left")
        }
        defer { index += count }
        return bytes[index..<index + count]
    }

    /// Everything that is left.
    mutating func rest() -> ArraySlice<UInt8> {
        defer { index = bytes.endIndex }
        return bytes[index...]
    }
}

/// Appends big-endian fields to a growing packet.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }
    mutating func u32(_ value: UInt32) {
        bytes.append(UInt8(value >> 24))
        bytes.append(UInt8((value >> 16) & 0xFF))
        bytes.append(UInt8((value >> 8) & 0xFF))
        bytes.append(UInt8(value & 0xFF))
    }
    mutating func append<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }
}
