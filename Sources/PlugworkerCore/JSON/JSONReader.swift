#if canImport(Glibc)
import Glibc
#endif

/// A JSON syntax error: what was wrong and at which byte.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at byte \(offset)" }
}

/// A number as JSON spells it, before it is given a C type.
public enum JSONNumber: Sendable, Equatable {
    case int(Int64)
    case uint(UInt64)
    /// An integer outside 64 bits, as its decimal digits.
    case bigint(String)
    case double(Double)

    var json: JSON {
        switch self {
        case .int(let v): return .int(v)
        case .uint(let v): return .uint(v)
        case .bigint(let v): return .bigint(v)
        case .double(let v): return .double(v)
        }
    }
}

/// A cursor over JSON text in memory.
///
/// The reader serves two callers: `readValue()` builds a `JSON` tree (message
/// headers, embeds), and the task-argument binder pulls values one at a time
/// and converts them straight into C values, without a tree. It accepts what
/// Python's `json` module writes, including `NaN`, `Infinity` and
/// `-Infinity`, checks UTF-8, and limits nesting depth.
///
/// The buffer must outlive the reader; the reader never copies it.
public struct JSONReader {
    /// The default nesting limit: deep enough for any Celery message, shallow
    /// enough that a hostile one cannot exhaust the stack.
    public static let defaultMaxDepth = 256

    /// What the next value is, from its first byte.
    public enum Kind: Sendable {
        case object, array, string, number, bool, null

        /// The Python type name, for `TypeError` messages ("int" for numbers
        /// is refined by the caller where it matters).
        public var pythonName: String {
            switch self {
            case .object: return "dict"
            case .array: return "list"
            case .string: return "str"
            case .number: return "number"
            case .bool: return "bool"
            case .null: return "NoneType"
            }
        }
    }

    let base: UnsafePointer<UInt8>?
    let end: Int
    /// Offset of the next unread byte.
    public private(set) var position: Int
    let maxDepth: Int
    var depth = 0

    public init(_ buffer: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) {
        self.base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        self.end = buffer.count
        self.position = 0
        self.maxDepth = maxDepth
    }

    @inline(__always)
    func byte(at i: Int) -> UInt8 { base.unsafelyUnwrapped[i] }

    func error(_ message: String) -> JSONError { JSONError(message, at: position) }

    /// Skips spaces, tabs, carriage returns and newlines.
    @inline(__always)
    public mutating func skipWhitespace() {
        while position < end {
            let b = byte(at: position)
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 } else { break }
        }
    }

    /// The next non-whitespace byte, without consuming it.
    @inline(__always)
    public mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < end ? byte(at: position) : nil
    }

    /// Consumes `b` if it is the next non-whitespace byte.
    @inline(__always)
    public mutating func consume(_ b: UInt8) -> Bool {
        if peek() == b {
            position += 1
            return true
        }
        return false
    }

    /// Consumes `b` or throws, naming what was expected.
    public mutating func expect(_ b: UInt8, _ what: String) throws {
        guard consume(b) else {
            throw error(position < end ? "expected \(what)" : "unexpected end of JSON, expected \(what)")
        }
    }

    /// Throws unless only whitespace remains.
    public mutating func expectEnd() throws {
        skipWhitespace()
        if position != end { throw error("extra data after the JSON value") }
    }

    /// The kind of the next value.
    public mutating func peekKind() throws -> Kind {
        guard let b = peek() else { throw error("unexpected end of JSON, expected a value") }
        switch b {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "N"), UInt8(ascii: "I"):
            return .number
        default: throw error("unexpected character '\(Self.printable(b))'")
        }
    }

    /// Moves the cursor back to an offset it has passed (error recovery).
    public mutating func seek(to offset: Int) {
        position = offset
    }

    // MARK: Literals

    mutating func consumeWord(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard end - position >= n else { return false }
        let w = word.utf8Start
        for i in 0..<n where byte(at: position + i) != w[i] { return false }
        position += n
        return true
    }

    /// Reads `true` or `false`.
    public mutating func readBool() throws -> Bool {
        skipWhitespace()
        if consumeWord("true") { return true }
        if consumeWord("false") { return false }
        throw error("expected true or false")
    }

    /// Reads `null`.
    public mutating func readNull() throws {
        skipWhitespace()
        if !consumeWord("null") { throw error("expected null") }
    }

    // MARK: Numbers

    /// Reads a number. Integers that fit 64 bits stay exact.
    public mutating func readNumber() throws -> JSONNumber {
        skipWhitespace()
        let start = position
        if position < end, case let b = byte(at: position), b == UInt8(ascii: "N") || b == UInt8(ascii: "I") || b == UInt8(ascii: "-") {
            if consumeWord("NaN") { return .double(.nan) }
            if consumeWord("Infinity") { return .double(.infinity) }
            if consumeWord("-Infinity") { return .double(-.infinity) }
        }
        var negative = false
        if position < end && byte(at: position) == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        let digitsStart = position
        // Accumulate the magnitude in UInt64 while it fits.
        var magnitude: UInt64 = 0
        var overflow = false
        while position < end {
            let b = byte(at: position)
            guard b >= 0x30 && b <= 0x39 else { break }
            if !overflow {
                let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
                if o1 || o2 { overflow = true } else { magnitude = s }
            }
            position += 1
        }
        let digitCount = position - digitsStart
        if digitCount == 0 { throw JSONError("invalid number", at: start) }
        if digitCount > 1 && byte(at: digitsStart) == UInt8(ascii: "0") {
            throw JSONError("invalid number: leading zero", at: start)
        }
        var isFloat = false
        if position < end && byte(at: position) == UInt8(ascii: ".") {
            isFloat = true
            position += 1
            let fracStart = position
            while position < end, (0x30...0x39).contains(byte(at: position)) { position += 1 }
            if position == fracStart { throw JSONError("invalid number: no digits after '.'", at: start) }
        }
        if position < end && (byte(at: position) | 0x20) == UInt8(ascii: "e") {
            isFloat = true
            position += 1
            if position < end && (byte(at: position) == UInt8(ascii: "+") || byte(at: position) == UInt8(ascii: "-")) {
                position += 1
            }
            let expStart = position
            while position < end, (0x30...0x39).contains(byte(at: position)) { position += 1 }
            if position == expStart { throw JSONError("invalid number: no digits in exponent", at: start) }
        }
        if isFloat { return .double(parseDouble(from: start, to: position)) }
        if overflow {
            return .bigint(String(decoding: UnsafeBufferPointer(start: base.unsafelyUnwrapped + start, count: position - start), as: UTF8.self))
        }
        if negative {
            if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
            if magnitude == UInt64(Int64.max) + 1 { return .int(Int64.min) }
            return .bigint("-" + String(magnitude))
        }
        if magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
        return .uint(magnitude)
    }

    func parseDouble(from start: Int, to stop: Int) -> Double {
        let length = stop - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buf in
            for i in 0..<length { buf[i] = CChar(bitPattern: byte(at: start + i)) }
            buf[length] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }

    // MARK: Strings

    /// Reads a string and appends its UTF-8 bytes (unescaped, checked) to
    /// `out`. Returns the number of bytes appended.
    @discardableResult
    public mutating func readString(appendingTo out: inout [UInt8]) throws -> Int {
        skipWhitespace()
        guard position < end, byte(at: position) == UInt8(ascii: "\"") else { throw error("expected a string") }
        position += 1
        let before = out.count
        var runStart = position
        var needsUTF8Check = false
        while true {
            guard position < end else { throw JSONError("unterminated string", at: runStart - 1) }
            let b = byte(at: position)
            if b == UInt8(ascii: "\"") {
                try appendRun(from: runStart, to: position, checkUTF8: needsUTF8Check, into: &out)
                position += 1
                return out.count - before
            }
            if b == UInt8(ascii: "\\") {
                try appendRun(from: runStart, to: position, checkUTF8: needsUTF8Check, into: &out)
                needsUTF8Check = false
                position += 1
                try readEscape(into: &out)
                runStart = position
                continue
            }
            if b < 0x20 { throw error("unescaped control character in string") }
            if b >= 0x80 { needsUTF8Check = true }
            position += 1
        }
    }

    /// Reads a string as a Swift `String`.
    public mutating func readString() throws -> String {
        skipWhitespace()
        // Fast path: no escapes and ASCII only.
        if position < end, byte(at: position) == UInt8(ascii: "\"") {
            var i = position + 1
            while i < end {
                let b = byte(at: i)
                if b == UInt8(ascii: "\"") {
                    let s = String(decoding: UnsafeBufferPointer(start: base.unsafelyUnwrapped + position + 1, count: i - position - 1), as: UTF8.self)
                    position = i + 1
                    return s
                }
                if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { break }
                i += 1
            }
        }
        var bytes: [UInt8] = []
        try readString(appendingTo: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func appendRun(from start: Int, to stop: Int, checkUTF8: Bool, into out: inout [UInt8]) throws {
        guard stop > start else { return }
        let run = UnsafeBufferPointer(start: base.unsafelyUnwrapped + start, count: stop - start)
        if checkUTF8, let bad = UTF8Validation.firstInvalidOffset(run) {
            throw JSONError("invalid UTF-8 in string", at: start + bad)
        }
        out.append(contentsOf: run)
    }

    mutating func readEscape(into out: inout [UInt8]) throws {
        guard position < end else { throw error("unterminated escape") }
        let c = byte(at: position)
        position += 1
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate should be followed by \uDC00-\uDFFF.
                if end - position >= 6, byte(at: position) == UInt8(ascii: "\\"), byte(at: position + 1) == UInt8(ascii: "u") {
                    let save = position
                    position += 2
                    let low = try readHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        position = save
                        scalar = 0xFFFD
                    }
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                scalar = 0xFFFD  // a lone low surrogate has no UTF-8 form
            }
            UTF8Validation.append(scalar: scalar, to: &out)
        default:
            throw JSONError("invalid escape '\\\(Self.printable(c))'", at: position - 2)
        }
    }

    mutating func readHex4() throws -> UInt32 {
        guard end - position >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = byte(at: position)
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x41...0x46: d = b - 0x41 + 10
            case 0x61...0x66: d = b - 0x61 + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            position += 1
        }
        return v
    }

    // MARK: Containers

    /// Enters an array: consumes `[`.
    public mutating func beginArray() throws {
        try expect(UInt8(ascii: "["), "'['")
        try enter()
    }

    /// Before each element: returns false (consuming `]`) at the end of the
    /// array, true when an element follows. `first` is true before the first.
    public mutating func nextElement(first: Bool) throws -> Bool {
        if consume(UInt8(ascii: "]")) {
            depth -= 1
            return false
        }
        if !first { try expect(UInt8(ascii: ","), "',' or ']'") }
        return true
    }

    /// Enters an object: consumes `{`.
    public mutating func beginObject() throws {
        try expect(UInt8(ascii: "{"), "'{'")
        try enter()
    }

    /// Before each member: returns false (consuming `}`) at the end; true when
    /// a key follows (read it with `readString`, then call `expectColon`).
    public mutating func nextMember(first: Bool) throws -> Bool {
        if consume(UInt8(ascii: "}")) {
            depth -= 1
            return false
        }
        if !first { try expect(UInt8(ascii: ","), "',' or '}'") }
        if peek() != UInt8(ascii: "\"") { throw error("expected a string key") }
        return true
    }

    /// Consumes the `:` between a key and its value.
    public mutating func expectColon() throws {
        try expect(UInt8(ascii: ":"), "':'")
    }

    mutating func enter() throws {
        depth += 1
        if depth > maxDepth { throw error("JSON nested deeper than \(maxDepth) levels") }
    }

    // MARK: Whole values

    /// Skips one value, checking its syntax; returns the byte range it spans.
    @discardableResult
    public mutating func skipValue() throws -> Range<Int> {
        var scratch: [UInt8] = []
        return try skipValue(scratch: &scratch)
    }

    mutating func skipValue(scratch: inout [UInt8]) throws -> Range<Int> {
        let kind = try peekKind()
        let start = position
        switch kind {
        case .object:
            try beginObject()
            var first = true
            while try nextMember(first: first) {
                first = false
                scratch.removeAll(keepingCapacity: true)
                try readString(appendingTo: &scratch)
                try expectColon()
                _ = try skipValue(scratch: &scratch)
            }
        case .array:
            try beginArray()
            var first = true
            while try nextElement(first: first) {
                first = false
                _ = try skipValue(scratch: &scratch)
            }
        case .string:
            scratch.removeAll(keepingCapacity: true)
            try readString(appendingTo: &scratch)
        case .number: _ = try readNumber()
        case .bool: _ = try readBool()
        case .null: try readNull()
        }
        return start..<position
    }

    /// Reads one value as a tree.
    public mutating func readValue() throws -> JSON {
        switch try peekKind() {
        case .object:
            try beginObject()
            var members: [JSONObject.Member] = []
            var first = true
            while try nextMember(first: first) {
                first = false
                let key = try readString()
                try expectColon()
                members.append(.init(key, try readValue()))
            }
            return .object(JSONObject(members))
        case .array:
            try beginArray()
            var elements: [JSON] = []
            var first = true
            while try nextElement(first: first) {
                first = false
                elements.append(try readValue())
            }
            return .array(elements)
        case .string: return .string(try readString())
        case .number: return try readNumber().json
        case .bool: return .bool(try readBool())
        case .null:
            try readNull()
            return .null
        }
    }

    static func printable(_ b: UInt8) -> String {
        (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : String(format: b)
    }
}

extension String {
    fileprivate init(format b: UInt8) {
        let hex = String(b, radix: 16, uppercase: true)
        self = "\\x" + (hex.count == 1 ? "0" + hex : hex)
    }
}
