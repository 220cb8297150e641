import PlugworkerCore

/// Renders JSON values the way Python's `repr()` renders them once
/// `json.loads` has decoded them: `'text'`, `True`/`False`/`None`, `1.0`,
/// `[1, 2]`, `{'a': 1}`. Celery shows task arguments this way (`argsrepr`,
/// `kwargsrepr`), in logs, events and `inspect` replies; the worker builds
/// them when a message does not carry them (protocol 1, foreign clients).
///
/// Kombu's tagged values (`{"__type__": …}`) are shown as the dicts they
/// are on the wire, not as the Python objects they decode to.
public enum PythonRepr {
    /// Celery's `argsrepr_maxsize` / `kwargsrepr_maxsize` default.
    public static let defaultMaxLength = 1024

    /// `repr(value)`.
    public static func repr(_ value: JSON) -> String {
        var out: [UInt8] = []
        write(value, into: &out, limit: .max)
        return String(decoding: out, as: UTF8.self)
    }

    /// The repr of positional arguments as the tuple Python passes:
    /// `()`, `(1,)`, `(1, 'a')`. Longer than `maxLength` UTF-8 bytes, it is
    /// cut and ends with `...`.
    public static func argsTuple(_ args: [JSON], maxLength: Int = defaultMaxLength) -> String {
        var out: [UInt8] = []
        out.append(UInt8(ascii: "("))
        for (i, a) in args.enumerated() {
            if i > 0 { append(", ", to: &out) }
            write(a, into: &out, limit: maxLength)
            if out.count > maxLength { break }
        }
        if args.count == 1 { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: ")"))
        return finish(out, maxLength: maxLength)
    }

    /// The repr of keyword arguments: `{}`, `{'x': 4, 'y': 5}`, cut like
    /// `argsTuple`.
    public static func kwargsDict(_ kwargs: JSONObject, maxLength: Int = defaultMaxLength) -> String {
        var out: [UInt8] = []
        write(.object(kwargs), into: &out, limit: maxLength)
        return finish(out, maxLength: maxLength)
    }

    /// `repr(value)` cut to `maxLength` bytes (ending in `...` when cut).
    public static func repr(_ value: JSON, maxLength: Int) -> String {
        var out: [UInt8] = []
        write(value, into: &out, limit: maxLength)
        return finish(out, maxLength: maxLength)
    }

    /// A Python string literal, as `repr(str)` writes it: single quotes
    /// unless the text has `'` and no `"`; `\\`, `\n`, `\r`, `\t` and
    /// `\xNN`/`\uNNNN`/`\UNNNNNNNN` for characters Python does not print.
    public static func string(_ s: String) -> String {
        var out: [UInt8] = []
        write(string: s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `repr(float)`: the shortest round-trip digits, fixed notation for
    /// decimal exponents -4 through 15, else `1e+16` / `1e-05`; `nan`,
    /// `inf`, `-inf`.
    public static func float(_ d: Double) -> String {
        var out: [UInt8] = []
        write(double: d, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Writers

    static func write(_ value: JSON, into out: inout [UInt8], limit: Int) {
        switch value {
        case .null: append("None", to: &out)
        case .bool(let b): append(b ? "True" : "False", to: &out)
        case .int(let v): out.append(contentsOf: String(v).utf8)
        case .uint(let v): out.append(contentsOf: String(v).utf8)
        case .bigint(let digits): out.append(contentsOf: digits.utf8)
        case .double(let d): write(double: d, into: &out)
        case .string(let s): write(string: s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if out.count > limit { break }
                if i > 0 { append(", ", to: &out) }
                write(e, into: &out, limit: limit)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, m) in object.members.enumerated() {
                if out.count > limit { break }
                if i > 0 { append(", ", to: &out) }
                write(string: m.key, into: &out)
                append(": ", to: &out)
                write(m.value, into: &out, limit: limit)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func write(string s: String, into out: inout [UInt8]) {
        let hasSingle = s.utf8.contains(UInt8(ascii: "'"))
        let quote: UInt8 = hasSingle && !s.utf8.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        out.append(quote)
        for c in s.unicodeScalars {
            let v = c.value
            switch v {
            case 0x5C: append("\\\\", to: &out)
            case 0x0A: append("\\n", to: &out)
            case 0x0D: append("\\r", to: &out)
            case 0x09: append("\\t", to: &out)
            case UInt32(quote):
                out.append(UInt8(ascii: "\\"))
                out.append(quote)
            case 0x20..<0x7F:
                out.append(UInt8(v))
            case 0..<0x20, 0x7F:
                hexEscape(v, digits: 2, prefix: "x", into: &out)
            default:
                if isPrintable(c) {
                    out.append(contentsOf: String(Character(c)).utf8)
                } else if v <= 0xFF {
                    hexEscape(v, digits: 2, prefix: "x", into: &out)
                } else if v <= 0xFFFF {
                    hexEscape(v, digits: 4, prefix: "u", into: &out)
                } else {
                    hexEscape(v, digits: 8, prefix: "U", into: &out)
                }
            }
        }
        out.append(quote)
    }

    /// Python's `str.isprintable()` for one non-ASCII scalar.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    static func hexEscape(_ v: UInt32, digits: Int, prefix: Character, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(prefix.asciiValue!)
        for k in stride(from: digits - 1, through: 0, by: -1) {
            out.append(hexDigits[Int((v >> (UInt32(k) * 4)) & 0xF)])
        }
    }

    static func write(double d: Double, into out: inout [UInt8]) {
        if d.isNaN { append("nan", to: &out); return }
        if d.isInfinite { append(d < 0 ? "-inf" : "inf", to: &out); return }
        // Swift's description has the shortest round-trip digits; only the
        // layout differs from Python's, so take the digits and the decimal
        // exponent from it and lay them out the way Python's repr does.
        let text = Array(d.description.utf8)
        var i = 0
        if text.first == UInt8(ascii: "-") {
            out.append(UInt8(ascii: "-"))
            i = 1
        }
        var digits: [UInt8] = []
        var pointAt: Int? = nil
        var exponent = 0
        while i < text.count {
            let b = text[i]
            if b == UInt8(ascii: ".") {
                pointAt = digits.count
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(i + 1)...], as: UTF8.self)) ?? 0
                break
            } else {
                digits.append(b)
            }
            i += 1
        }
        // value = 0.d1d2d3… × 10^decpt
        var decpt = (pointAt ?? digits.count) + exponent
        while digits.count > 1 && digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            decpt -= 1
        }
        while digits.count > 1 && digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits == [UInt8(ascii: "0")] {
            append("0.0", to: &out)
            return
        }
        if decpt > -4 && decpt <= 16 {
            if decpt <= 0 {
                append("0.", to: &out)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -decpt))
                out.append(contentsOf: digits)
            } else if decpt >= digits.count {
                out.append(contentsOf: digits)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: decpt - digits.count))
                append(".0", to: &out)
            } else {
                out.append(contentsOf: digits[0..<decpt])
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[decpt...])
            }
        } else {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            let e = decpt - 1
            out.append(UInt8(ascii: "e"))
            out.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let magnitude = abs(e)
            if magnitude < 10 { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: String(magnitude).utf8)
        }
    }

    static func finish(_ out: [UInt8], maxLength: Int) -> String {
        guard out.count > maxLength else { return String(decoding: out, as: UTF8.self) }
        var end = max(maxLength, 0)
        // Back up to the start of a UTF-8 sequence.
        while end > 0 && (out[end] & 0xC0) == 0x80 { end -= 1 }
        return String(decoding: out[0..<end], as: UTF8.self) + "..."
    }

    @inline(__always)
    static func append(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
