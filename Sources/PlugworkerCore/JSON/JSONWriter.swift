/// Writes JSON text into a byte buffer, as Python's `json.dumps` would:
/// separators `", "` and `": "`, `NaN`/`Infinity` for non-finite floats
/// (Python's `json.loads` reads them back), floats in shortest round-trip form.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes any value.
    public mutating func write(_ value: JSON) {
        switch value {
        case .null: writeRaw("null")
        case .bool(let b): writeRaw(b ? "true" : "false")
        case .int(let v): write(int: v)
        case .uint(let v): write(uint: v)
        case .bigint(let digits): bytes.append(contentsOf: digits.utf8)
        case .double(let v): write(double: v)
        case .string(let s): write(string: s)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if i > 0 { writeRaw(", ") }
                write(e)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            for (i, m) in object.members.enumerated() {
                if i > 0 { writeRaw(", ") }
                write(string: m.key)
                writeRaw(": ")
                write(m.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Appends text as is (the caller vouches for its syntax).
    @inline(__always)
    public mutating func writeRaw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends already-serialized JSON bytes as is.
    public mutating func writeRaw(bytes raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    public mutating func write(int v: Int64) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            write(uint: v.magnitude)
        } else {
            write(uint: UInt64(v))
        }
    }

    public mutating func write(uint v: UInt64) {
        if v < 10 {
            bytes.append(UInt8(v) + 0x30)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var n = v
            var i = 20
            while n > 0 {
                i -= 1
                buf[i] = UInt8(n % 10) + 0x30
                n /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }

    public mutating func write(double v: Double) {
        if v.isNaN { writeRaw("NaN"); return }
        if v.isInfinite { v < 0 ? writeRaw("-Infinity") : writeRaw("Infinity"); return }
        // Swift's description is the shortest round-trip form, like Python's
        // repr: 5.0, 0.1, 1e-05, 1e+16.
        bytes.append(contentsOf: v.description.utf8)
    }

    public mutating func write(string s: String) {
        var s = s
        s.withUTF8 { write(utf8: $0) }
    }

    /// Writes a string from UTF-8 bytes (assumed valid), escaping `"`, `\`
    /// and control characters.
    public mutating func write(utf8 u: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for i in 0..<u.count {
            let b = u[i]
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            if i > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i])) }
            runStart = i + 1
            switch b {
            case 0x22: writeRaw("\\\"")
            case 0x5C: writeRaw("\\\\")
            case 0x0A: writeRaw("\\n")
            case 0x0D: writeRaw("\\r")
            case 0x09: writeRaw("\\t")
            case 0x08: writeRaw("\\b")
            case 0x0C: writeRaw("\\f")
            default:
                writeRaw("\\u00")
                bytes.append(Self.hexDigits[Int(b >> 4)])
                bytes.append(Self.hexDigits[Int(b & 0xF)])
            }
        }
        if u.count > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count])) }
        bytes.append(UInt8(ascii: "\""))
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
