/// Little-endian writing of the fields of a `PoolFrame`.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// A u32 length, then the bytes.
    mutating func blob(_ v: [UInt8]) {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }

    mutating func string(_ v: String) {
        var s = v
        s.withUTF8 { buf in
            u32(UInt32(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    /// A presence byte (0 or 1), then the string if present.
    mutating func optionalString(_ v: String?) {
        if let v {
            u8(1)
            string(v)
        } else {
            u8(0)
        }
    }
}

/// Bounds-checked little-endian reading of one frame's body. Every read
/// checks what is left, so a lying length is an error, never a crash or a
/// huge allocation.
struct ByteReader {
    let body: UnsafeRawBufferPointer
    let frame: String
    var offset = 0

    init(_ body: UnsafeRawBufferPointer, frame: String) {
        self.body = body
        self.frame = frame
    }

    var remaining: Int { body.count - offset }

    mutating func take(_ n: Int, _ field: String) throws(PoolFrameError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else {
            throw PoolFrameError(.truncated, "\(frame) frame: \(field) needs \(n) bytes, \(remaining) left")
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: body[offset..<offset + n])
    }

    mutating func u8(_ field: String) throws(PoolFrameError) -> UInt8 {
        try take(1, field)[0]
    }

    mutating func u32(_ field: String) throws(PoolFrameError) -> UInt32 {
        UInt32(littleEndian: try take(4, field).loadUnaligned(as: UInt32.self))
    }

    mutating func u64(_ field: String) throws(PoolFrameError) -> UInt64 {
        UInt64(littleEndian: try take(8, field).loadUnaligned(as: UInt64.self))
    }

    mutating func i32(_ field: String) throws(PoolFrameError) -> Int32 { Int32(bitPattern: try u32(field)) }
    mutating func i64(_ field: String) throws(PoolFrameError) -> Int64 { Int64(bitPattern: try u64(field)) }
    mutating func f64(_ field: String) throws(PoolFrameError) -> Double { Double(bitPattern: try u64(field)) }

    mutating func blob(_ field: String) throws(PoolFrameError) -> [UInt8] {
        let n = try u32(field + " length")
        return Array(try take(Int(n), field))
    }

    mutating func string(_ field: String) throws(PoolFrameError) -> String {
        let n = try u32(field + " length")
        let raw = try take(Int(n), field)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw PoolFrameError(.badValue, "\(frame) frame: \(field) is not valid UTF-8")
        }
        return s
    }

    mutating func optionalString(_ field: String) throws(PoolFrameError) -> String? {
        switch try u8(field + " presence") {
        case 0: return nil
        case 1: return try string(field)
        case let b: throw PoolFrameError(.badValue, "\(frame) frame: \(field) presence byte is \(b), not 0 or 1")
        }
    }

    func expectEnd() throws(PoolFrameError) {
        if remaining != 0 {
            throw PoolFrameError(.trailingBytes, "\(frame) frame: \(remaining) bytes after the last field")
        }
    }
}
