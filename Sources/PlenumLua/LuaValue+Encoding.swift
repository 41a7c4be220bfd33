internal import CPlenumLua

/// Writes values in the stream `plenum_lua.h` describes, for the C side to build into Lua
/// values under the state's memory cap (Swift never pushes anything that allocates).
enum LuaValueEncoding {
    /// Bytes `value` takes in the stream.
    static func size(of value: LuaValue) -> Int {
        switch value {
        case .nil, .boolean: 1
        case .integer, .number: 9
        case .string(let s): 9 + s.utf8.count
        case .bytes(let b): 9 + b.count
        case .array(let items): items.reduce(9) { $0 + size(of: $1) }
        case .table(let fields): fields.reduce(9) { $0 + 9 + $1.key.utf8.count + size(of: $1.value) }
        }
    }

    /// Writes `value` at `offset`, which it advances; the buffer holds `size(of: value)` more bytes.
    static func write(_ value: LuaValue, to buffer: UnsafeMutableRawPointer, at offset: inout Int) {
        switch value {
        case .nil: tag(PLENUM_VALUE_NIL, buffer, &offset)
        case .boolean(let b): tag(b ? PLENUM_VALUE_TRUE : PLENUM_VALUE_FALSE, buffer, &offset)
        case .integer(let i):
            tag(PLENUM_VALUE_INTEGER, buffer, &offset)
            word(UInt64(bitPattern: i), buffer, &offset)
        case .number(let d):
            tag(PLENUM_VALUE_NUMBER, buffer, &offset)
            word(d.bitPattern, buffer, &offset)
        case .string(let s):
            var s = s
            s.withUTF8 { bytes(UnsafeRawBufferPointer($0), buffer, &offset) }
        case .bytes(let b):
            b.withUnsafeBytes { bytes($0, buffer, &offset) }
        case .array(let items):
            tag(PLENUM_VALUE_ARRAY, buffer, &offset)
            word(UInt64(items.count), buffer, &offset)
            for item in items { write(item, to: buffer, at: &offset) }
        case .table(let fields):
            tag(PLENUM_VALUE_TABLE, buffer, &offset)
            word(UInt64(fields.count), buffer, &offset)
            for (key, item) in fields {
                write(.string(key), to: buffer, at: &offset)
                write(item, to: buffer, at: &offset)
            }
        }
    }

    /// `values` as one stream.
    static func encode(_ values: [LuaValue]) -> [UInt8] {
        let total = values.reduce(0) { $0 + size(of: $1) }
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            var offset = 0
            if let base = buffer.baseAddress {
                for value in values { write(value, to: UnsafeMutableRawPointer(base), at: &offset) }
            }
            initialized = offset
        }
    }

    private static func tag(_ tag: Int, _ buffer: UnsafeMutableRawPointer, _ offset: inout Int) {
        buffer.storeBytes(of: UInt8(tag), toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    private static func word(_ word: UInt64, _ buffer: UnsafeMutableRawPointer, _ offset: inout Int) {
        buffer.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }

    private static func bytes(_ bytes: UnsafeRawBufferPointer, _ buffer: UnsafeMutableRawPointer, _ offset: inout Int) {
        tag(PLENUM_VALUE_STRING, buffer, &offset)
        word(UInt64(bytes.count), buffer, &offset)
        if let base = bytes.baseAddress, bytes.count > 0 {
            (buffer + offset).copyMemory(from: base, byteCount: bytes.count)
        }
        offset += bytes.count
    }
}
