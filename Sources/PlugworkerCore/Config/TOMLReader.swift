/// Reads a TOML document (the config file's format) into a `JSON` object.
///
/// What a config file needs of TOML 1.0: comments, bare, quoted and dotted
/// keys, `[tables]` and `[[arrays of tables]]`, basic and literal strings
/// (single- and multi-line, with escapes), integers (decimal, `0x`, `0o`,
/// `0b`, `_` separators), floats (`inf`, `nan` included), booleans, arrays
/// and inline tables. Date and time values are refused with a hint to
/// quote them: nothing in plugworker's configuration is a TOML date.
///
/// Tables become `.object`s in the order their keys were written; a key
/// defined twice, or a table opened twice, is an error, as the spec says.
///
/// Why not a TOML package: the ones at hand link the full Foundation (ICU
/// included), which every worker process would then map; this reader is
/// small and yields the `JSON` values the rest of plugworker already uses.
public struct TOMLReader {
    private let bytes: [UInt8]
    private var pos = 0
    private var line = 1
    private var lineStart = 0

    /// The root table, and which tables were opened explicitly by a header
    /// (so a second `[a]` is an error but `[a.b]` after `[a]` is not).
    private var root = JSONObject()
    private var explicitTables: Set<[String]> = []

    /// Parses `text`. - Throws: `TOMLError` with the line and column.
    public static func parse(_ text: String) throws(TOMLError) -> JSONObject {
        var reader = TOMLReader(bytes: Array(text.utf8))
        return try reader.document()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Document structure

    private mutating func document() throws(TOMLError) -> JSONObject {
        var current: [String] = []  // the path of the table key/values go to
        while true {
            skipBlank()
            guard let c = peek() else { break }
            switch c {
            case UInt8(ascii: "\n"):
                newline()
            case UInt8(ascii: "["):
                if peek(1) == UInt8(ascii: "[") {
                    pos += 2
                    let path = try keyPath(until: UInt8(ascii: "]"))
                    try expect("]]")
                    try appendTable(path)
                    current = path + ["\u{0}last"]
                } else {
                    pos += 1
                    let path = try keyPath(until: UInt8(ascii: "]"))
                    try expect("]")
                    try openTable(path)
                    current = path
                }
                try endOfLine()
            default:
                let key = try keyPath(until: UInt8(ascii: "="))
                try expect("=")
                skipSpaces()
                let value = try readValue()
                try assign(value, at: current, key: key)
                try endOfLine()
            }
        }
        return root
    }

    /// `[a.b]`: opens a table, creating the ones on the way.
    private mutating func openTable(_ path: [String]) throws(TOMLError) {
        if explicitTables.contains(path) {
            throw error("table [\(path.joined(separator: "."))] is defined twice", hint: "merge the two sections into one")
        }
        explicitTables.insert(path)
        let clash = error("[\(path.joined(separator: "."))] names a key that already has a value", hint: "rename the table or the key")
        let loc = location
        try Self.update(&root, path: path[...], at: loc) { (value: inout JSON?) throws(TOMLError) in
            switch value {
            case nil: value = .object(JSONObject())
            case .object?: break
            default: throw clash
            }
        }
    }

    /// `[[a.b]]`: appends a new table to the array at `a.b`.
    private mutating func appendTable(_ path: [String]) throws(TOMLError) {
        let clash = error("[[\(path.joined(separator: "."))]] names a key that is not an array of tables", hint: "rename it")
        let loc = location
        try Self.update(&root, path: path[...], at: loc) { (value: inout JSON?) throws(TOMLError) in
            switch value {
            case nil: value = .array([.object(JSONObject())])
            case .array(var a)? where Self.isTableArray(a):
                a.append(.object(JSONObject()))
                value = .array(a)
            default: throw clash
            }
        }
    }

    private static func isTableArray(_ a: [JSON]) -> Bool {
        a.allSatisfy { if case .object = $0 { return true } else { return false } }
    }

    /// Sets `key` (dotted) under the table at `tablePath`.
    private mutating func assign(_ value: JSON, at tablePath: [String], key: [String]) throws(TOMLError) {
        let full = tablePath + key
        let twice = error("key \(key.joined(separator: ".")) is defined twice", hint: "keep one of the two lines")
        let loc = location
        try Self.update(&root, path: full[...], at: loc) { (slot: inout JSON?) throws(TOMLError) in
            if slot != nil { throw twice }
            slot = value
        }
    }

    /// Walks `path` from `table`, creating tables for missing intermediate
    /// keys; the path component `"\0last"` means "the last table of the
    /// array just passed".
    private static func update(_ table: inout JSONObject, path: ArraySlice<String>, at location: (line: Int, column: Int),
                               _ body: (inout JSON?) throws(TOMLError) -> Void) throws(TOMLError) {
        guard let head = path.first else { return }
        let rest = path.dropFirst()
        if rest.isEmpty {
            var slot = table[head]
            try body(&slot)
            table[head] = slot
            return
        }
        if rest.first == "\u{0}last" {
            guard case .array(var a)? = table[head], case .object(var last)? = a.last else {
                throw TOMLError(line: location.line, column: location.column, message: "internal: no table array at \(head)", hint: "")
            }
            try update(&last, path: rest.dropFirst(), at: location, body)
            a[a.count - 1] = .object(last)
            table[head] = .array(a)
            return
        }
        var child: JSONObject
        switch table[head] {
        case nil: child = JSONObject()
        case .object(let o)?: child = o
        case .array(let a)? where !a.isEmpty && isTableArray(a):
            // `[a.b]` after `[[a]]` refers to the last table of `a`.
            guard case .object(var last) = a[a.count - 1] else { return }
            try update(&last, path: rest, at: location, body)
            var copy = a
            copy[copy.count - 1] = .object(last)
            table[head] = .array(copy)
            return
        default:
            throw TOMLError(line: location.line, column: location.column,
                            message: "key \(head) already has a value that is not a table", hint: "rename one of them")
        }
        try update(&child, path: rest, at: location, body)
        table[head] = .object(child)
    }

    // MARK: Keys

    /// A dotted key, up to (not including) `terminator`.
    private mutating func keyPath(until terminator: UInt8) throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            parts.append(try simpleKey())
            skipSpaces()
            if peek() == UInt8(ascii: ".") {
                pos += 1
                continue
            }
            guard peek() == terminator else {
                throw error("expected \(terminator == UInt8(ascii: "=") ? "'=' after the key" : "']'")", hint: "a line is `key = value`, `[table]` or `[[array]]`")
            }
            return parts
        }
    }

    private mutating func simpleKey() throws(TOMLError) -> String {
        switch peek() {
        case UInt8(ascii: "\"")?:
            pos += 1
            return try basicString()
        case UInt8(ascii: "'")?:
            pos += 1
            return try literalString()
        default:
            let start = pos
            while let c = peek(), Self.isBareKey(c) { pos += 1 }
            guard pos > start else { throw error("expected a key", hint: "bare keys use A-Z a-z 0-9 _ -; quote others") }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }
    }

    private static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }

    // MARK: Values

    private mutating func readValue() throws(TOMLError) -> JSON {
        guard let c = peek() else { throw error("expected a value", hint: "write a string, number, boolean, array or table") }
        switch c {
        case UInt8(ascii: "\""):
            if startsWith("\"\"\"") {
                pos += 3
                return .string(try multilineBasicString())
            }
            pos += 1
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if startsWith("'''") {
                pos += 3
                return .string(try multilineLiteralString())
            }
            pos += 1
            return .string(try literalString())
        case UInt8(ascii: "["):
            pos += 1
            return try array()
        case UInt8(ascii: "{"):
            pos += 1
            return try inlineTable()
        case UInt8(ascii: "t") where startsWith("true"):
            pos += 4
            return .bool(true)
        case UInt8(ascii: "f") where startsWith("false"):
            pos += 5
            return .bool(false)
        default:
            return try number()
        }
    }

    private mutating func array() throws(TOMLError) -> JSON {
        var items: [JSON] = []
        while true {
            skipWhitespaceAndComments()
            if peek() == UInt8(ascii: "]") {
                pos += 1
                return .array(items)
            }
            items.append(try readValue())
            skipWhitespaceAndComments()
            switch peek() {
            case UInt8(ascii: ",")?: pos += 1
            case UInt8(ascii: "]")?: continue
            default: throw error("expected ',' or ']' in an array", hint: "separate the items with commas")
            }
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> JSON {
        var table = JSONObject()
        skipSpaces()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            return .object(table)
        }
        while true {
            skipSpaces()
            let key = try keyPath(until: UInt8(ascii: "="))
            try expect("=")
            skipSpaces()
            let value = try readValue()
            let twice = error("key \(key.joined(separator: ".")) is defined twice in an inline table", hint: "keep one")
            let loc = location
            try Self.update(&table, path: key[...], at: loc) { (slot: inout JSON?) throws(TOMLError) in
                if slot != nil { throw twice }
                slot = value
            }
            skipSpaces()
            switch peek() {
            case UInt8(ascii: ",")?: pos += 1
            case UInt8(ascii: "}")?:
                pos += 1
                return .object(table)
            default: throw error("expected ',' or '}' in an inline table", hint: "inline tables stay on one line: {a = 1, b = 2}")
            }
        }
    }

    private mutating func number() throws(TOMLError) -> JSON {
        let start = pos
        while let c = peek(), !Self.endsValue(c) { pos += 1 }
        let word = String(decoding: bytes[start..<pos], as: UTF8.self)
        if word.isEmpty { throw error("expected a value", hint: "write a string, number, boolean, array or table") }
        switch word {
        case "inf", "+inf": return .double(.infinity)
        case "-inf": return .double(-.infinity)
        case "nan", "+nan", "-nan": return .double(.nan)
        default: break
        }
        if word.count >= 8, word.utf8.dropFirst(4).first == UInt8(ascii: "-") || word.contains(":") {
            throw error("dates and times are not supported: \(word)", hint: "write it as a quoted string")
        }
        let digits = word.filter { $0 != "_" }
        if word.hasPrefix("_") || word.hasSuffix("_") || word.contains("__") {
            throw error("misplaced '_' in the number \(word)", hint: "'_' goes only between digits")
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.hasPrefix(prefix) {
            guard let v = Int64(digits.dropFirst(2), radix: radix) else { throw error("bad number \(word)", hint: "check its digits") }
            return .int(v)
        }
        if let v = Int64(digits) {
            let unsigned = digits.hasPrefix("+") || digits.hasPrefix("-") ? digits.dropFirst() : digits[...]
            if unsigned.count > 1 && unsigned.hasPrefix("0") { throw error("leading zeros in \(word)", hint: "write \(v)") }
            return .int(v)
        }
        if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let v = Double(digits),
           !digits.hasPrefix("."), !digits.hasSuffix(".") {
            return .double(v)
        }
        throw error("not a value: \(word)", hint: "quote strings: key = \"\(word)\"")
    }

    private static func endsValue(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ",") || c == UInt8(ascii: "]")
            || c == UInt8(ascii: "}") || c == UInt8(ascii: "#")
    }

    // MARK: Strings

    private mutating func basicString() throws(TOMLError) -> String {
        var out: [UInt8] = []
        while true {
            guard let c = next() else { throw error("unterminated string", hint: "close it with \"") }
            switch c {
            case UInt8(ascii: "\""): return try utf8(out)
            case UInt8(ascii: "\\"): try escape(into: &out)
            case 0x0A: throw error("newline in a string", hint: "use \\n, or a \"\"\"multi-line\"\"\" string")
            default: out.append(c)
            }
        }
    }

    private mutating func multilineBasicString() throws(TOMLError) -> String {
        var out: [UInt8] = []
        if peek() == 0x0A { newline() }
        while true {
            if startsWith("\"\"\"") && !startsWith("\"\"\"\"") {
                pos += 3
                return try utf8(out)
            }
            guard let c = next() else { throw error("unterminated multi-line string", hint: "close it with \"\"\"") }
            switch c {
            case UInt8(ascii: "\\"):
                // A backslash at the end of a line trims the newline and the
                // whitespace that follows.
                var probe = pos
                while probe < bytes.count, bytes[probe] == 0x20 || bytes[probe] == 0x09 { probe += 1 }
                if probe < bytes.count, bytes[probe] == 0x0A {
                    pos = probe
                    while let w = peek(), w == 0x20 || w == 0x09 || w == 0x0A {
                        if w == 0x0A { newline() } else { pos += 1 }
                    }
                } else {
                    try escape(into: &out)
                }
            case 0x0A:
                out.append(c)
                line += 1
                lineStart = pos
            default: out.append(c)
            }
        }
    }

    private mutating func literalString() throws(TOMLError) -> String {
        let start = pos
        while let c = peek(), c != UInt8(ascii: "'") {
            if c == 0x0A { throw error("newline in a string", hint: "use a '''multi-line''' string") }
            pos += 1
        }
        guard peek() != nil else { throw error("unterminated string", hint: "close it with '") }
        let s = try utf8(Array(bytes[start..<pos]))
        pos += 1
        return s
    }

    private mutating func multilineLiteralString() throws(TOMLError) -> String {
        if peek() == 0x0A { newline() }
        var out: [UInt8] = []
        while true {
            if startsWith("'''") && !startsWith("''''") {
                pos += 3
                return try utf8(out)
            }
            guard let c = next() else { throw error("unterminated multi-line string", hint: "close it with '''") }
            if c == 0x0A {
                line += 1
                lineStart = pos
            }
            out.append(c)
        }
    }

    private mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        guard let e = next() else { throw error("unterminated string", hint: "close it with \"") }
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "e"): out.append(0x1B)
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = e == UInt8(ascii: "u") ? 4 : 8
            guard pos + n <= bytes.count, let v = UInt32(String(decoding: bytes[pos..<pos + n], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(v) else {
                throw error("bad \\\(Character(Unicode.Scalar(e))) escape", hint: "write \\uXXXX or \\UXXXXXXXX with a valid code point")
            }
            pos += n
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            throw error("unknown escape \\\(Character(Unicode.Scalar(e)))", hint: "use a 'literal string' for backslashes")
        }
    }

    private func utf8(_ b: [UInt8]) throws(TOMLError) -> String {
        guard let s = String(validating: b, as: UTF8.self) else { throw error("invalid UTF-8 in a string", hint: "save the file as UTF-8") }
        return s
    }

    // MARK: Lexing helpers

    private func peek(_ ahead: Int = 0) -> UInt8? {
        pos + ahead < bytes.count ? bytes[pos + ahead] : nil
    }

    private mutating func next() -> UInt8? {
        guard pos < bytes.count else { return nil }
        defer { pos += 1 }
        return bytes[pos]
    }

    private func startsWith(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard pos + n <= bytes.count else { return false }
        return s.withUTF8Buffer { Array($0) == Array(bytes[pos..<pos + n]) }
    }

    private mutating func expect(_ s: StaticString) throws(TOMLError) {
        skipSpaces()
        guard startsWith(s) else { throw error("expected '\(s)'", hint: "check the line's syntax") }
        pos += s.utf8CodeUnitCount
    }

    private mutating func skipSpaces() {
        while let c = peek(), c == 0x20 || c == 0x09 { pos += 1 }
    }

    /// Spaces, tabs, a comment and a carriage return; not the newline.
    private mutating func skipBlank() {
        skipSpaces()
        if peek() == UInt8(ascii: "#") { while let c = peek(), c != 0x0A { pos += 1 } }
        if peek() == 0x0D, peek(1) == 0x0A { pos += 1 }
    }

    private mutating func skipWhitespaceAndComments() {
        while true {
            skipBlank()
            guard peek() == 0x0A else { return }
            newline()
        }
    }

    private mutating func newline() {
        pos += 1
        line += 1
        lineStart = pos
    }

    private mutating func endOfLine() throws(TOMLError) {
        skipBlank()
        guard let c = peek() else { return }
        guard c == 0x0A else { throw error("unexpected text after the value", hint: "one key = value per line; comments start with #") }
        newline()
    }

    private var location: (line: Int, column: Int) { (line, pos - lineStart + 1) }

    private func error(_ message: String, hint: String) -> TOMLError {
        TOMLError(line: line, column: pos - lineStart + 1, message: message, hint: hint)
    }
}
