#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PlugworkerCore

/// Celery's timestamps: ISO-8601 text on the wire (`eta`, `expires`,
/// `date_done`), epoch seconds (`Double`, UTC) inside the worker.
///
/// Parsing accepts what Python clients write and a little more:
///
/// - `2026-11-21T11:01:13.786105+00:00` (Python's `isoformat()`, Celery ≥ 4);
/// - `2026-11-21T11:01:13.786105Z` (kombu < 5.3 and other languages);
/// - no offset at all, read as UTC (protocol 2 says times are UTC; a Python
///   worker would use its configured timezone, which defaults to UTC);
/// - a date alone (`2026-11-21`, midnight UTC);
/// - `T`, `t` or a space between date and time; seconds optional; a
///   fraction of any length after `.` or `,` (digits past nanoseconds are
///   ignored);
/// - offsets `±HH`, `±HHMM`, `±HH:MM`, `±HH:MM:SS[.ffffff]`;
/// - kombu's tagged form `{"__type__": "datetime", "__value__": "<iso>"}`
///   (see `parse(_:)` for `JSON`).
///
/// Years 0001–9999 as in Python. Anything else throws `ParseError`.
/// Formatting writes what Python's `datetime.isoformat()` writes for an
/// aware UTC datetime: microseconds only when non-zero, then `+00:00`.
///
/// No Foundation: the calendar arithmetic is Howard Hinnant's
/// days-from-civil algorithm on the proleptic Gregorian calendar.
public enum CeleryTime {
    /// Why a timestamp did not parse.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// One line, quoting (a prefix of) the bad text.
        public var message: String

        public init(_ message: String) { self.message = message }

        public var description: String { message }
    }

    /// The current time as epoch seconds (`CLOCK_REALTIME`).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: Parsing

    /// Parses an ISO-8601 timestamp to epoch seconds.
    /// - Throws: `ParseError` naming the text and what was wrong.
    public static func parse(_ text: String) throws(ParseError) -> Double {
        var copy = text
        let result: Result<Double, ParseError> = copy.withUTF8 { parse(bytes: $0) }
        return try result.get()
    }

    /// Parses a timestamp as it appears in a message: `null` gives nil, a
    /// string is parsed as ISO-8601, and kombu's tagged
    /// `{"__type__": "datetime", "__value__": "<iso>"}` is unwrapped.
    /// - Throws: `ParseError` for anything else, or unparseable text.
    public static func parse(_ value: JSON) throws(ParseError) -> Double? {
        switch value {
        case .null:
            return nil
        case .string(let s):
            return try parse(s)
        case .object(let o):
            guard o["__type__"]?.stringValue == "datetime", let inner = o["__value__"]?.stringValue else {
                throw ParseError("expected an ISO 8601 string, got a dict that is not a kombu datetime")
            }
            return try parse(inner)
        default:
            throw ParseError("expected an ISO 8601 string, not \(value.pythonTypeName)")
        }
    }

    /// The text a JSON timestamp value carries: the string itself, or the
    /// `__value__` of a tagged datetime; nil otherwise.
    public static func text(of value: JSON) -> String? {
        switch value {
        case .string(let s): return s
        case .object(let o) where o["__type__"]?.stringValue == "datetime": return o["__value__"]?.stringValue
        default: return nil
        }
    }

    /// A cursor over the text (a struct, so that nothing is boxed).
    struct Cursor {
        let p: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i >= p.count }
        var current: UInt8 { p[i] }

        /// Reads exactly `count` ASCII digits.
        mutating func digits(_ count: Int) -> Int? {
            guard p.count - i >= count else { return nil }
            var v = 0
            for k in 0..<count {
                let b = p[i + k]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                v = v * 10 + Int(b &- 0x30)
            }
            i += count
            return v
        }

        mutating func consume(_ c: UInt8) -> Bool {
            if i < p.count && p[i] == c {
                i += 1
                return true
            }
            return false
        }

        var atDigit: Bool { i < p.count && p[i] >= 0x30 && p[i] <= 0x39 }
    }

    static func parse(bytes p: UnsafeBufferPointer<UInt8>) -> Result<Double, ParseError> {
        var c = Cursor(p: p)
        func fail(_ why: String) -> Result<Double, ParseError> {
            .failure(ParseError("Invalid isoformat string \(quoted(p)): \(why)"))
        }

        guard let year = c.digits(4) else { return fail("expected a 4-digit year") }
        guard c.consume(UInt8(ascii: "-")), let month = c.digits(2) else { return fail("expected -MM after the year") }
        guard c.consume(UInt8(ascii: "-")), let day = c.digits(2) else { return fail("expected -DD after the month") }
        guard year >= 1 else { return fail("year 0 is out of range") }
        guard (1...12).contains(month) else { return fail("month must be in 1..12") }
        guard day >= 1 && day <= daysInMonth(year: year, month: month) else { return fail("day is out of range for month") }

        var hour = 0, minute = 0, second = 0
        var nanos = 0
        var offset = 0
        if !c.atEnd {
            let sep = c.current
            guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else {
                return fail("expected 'T' between date and time")
            }
            c.i += 1
            guard let h = c.digits(2) else { return fail("expected HH after the date") }
            guard c.consume(UInt8(ascii: ":")), let m = c.digits(2) else { return fail("expected :MM after the hour") }
            hour = h
            minute = m
            if c.consume(UInt8(ascii: ":")) {
                guard let s = c.digits(2) else { return fail("expected 2-digit seconds") }
                second = s
                if c.consume(UInt8(ascii: ".")) || c.consume(UInt8(ascii: ",")) {
                    guard c.atDigit else { return fail("expected digits after the decimal point") }
                    var scale = 100_000_000
                    while c.atDigit {
                        nanos += Int(c.current &- 0x30) * scale
                        scale /= 10
                        c.i += 1
                    }
                }
            }
            guard hour < 24 else { return fail("hour must be in 0..23") }
            guard minute < 60 else { return fail("minute must be in 0..59") }
            guard second < 60 else { return fail("second must be in 0..59") }
            if !c.atEnd {
                let t = c.current
                if t == UInt8(ascii: "Z") || t == UInt8(ascii: "z") {
                    c.i += 1
                } else if t == UInt8(ascii: "+") || t == UInt8(ascii: "-") {
                    c.i += 1
                    guard let oh = c.digits(2) else { return fail("expected HH in the UTC offset") }
                    var om = 0, os = 0
                    if !c.atEnd {
                        let colon = c.consume(UInt8(ascii: ":"))
                        guard let m = c.digits(2) else { return fail("expected MM in the UTC offset") }
                        om = m
                        if colon && c.consume(UInt8(ascii: ":")) {
                            guard let s = c.digits(2) else { return fail("expected SS in the UTC offset") }
                            os = s
                            if c.consume(UInt8(ascii: ".")) {
                                guard c.atDigit else { return fail("expected digits in the UTC offset") }
                                while c.atDigit { c.i += 1 }
                            }
                        }
                    }
                    guard oh < 24 && om < 60 && os < 60 else { return fail("UTC offset out of range") }
                    offset = (oh * 3600 + om * 60 + os) * (t == UInt8(ascii: "-") ? -1 : 1)
                } else {
                    return fail("unexpected text after the time")
                }
            }
            guard c.atEnd else { return fail("unexpected text after the UTC offset") }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        return .success(Double(seconds) + Double(nanos) / 1e9)
    }

    static func quoted(_ p: UnsafeBufferPointer<UInt8>) -> String {
        let limit = 64
        let text = String(decoding: UnsafeBufferPointer(rebasing: p[0..<min(p.count, limit)]), as: UTF8.self)
        return PythonRepr.string(text) + (p.count > limit ? "..." : "")
    }

    // MARK: Formatting

    /// Formats epoch seconds as Celery writes `date_done` and `eta`:
    /// `2026-11-21T11:01:14.289864+00:00`, rounded to the microsecond, with
    /// the fraction left out when it is zero (as Python's `isoformat()`).
    /// Non-finite input and times outside years 1–9999 are clamped.
    public static func format(_ epoch: Double) -> String {
        // 0001-01-01T00:00:00 and 9999-12-31T23:59:59.999999, in epoch seconds.
        let minMicros: Int64 = -62_135_596_800_000_000
        let maxMicros: Int64 = 253_402_300_799_999_999
        let micros: Int64
        if epoch.isNaN {
            micros = 0
        } else {
            let scaled = (epoch * 1_000_000).rounded()
            micros = scaled <= Double(minMicros) ? minMicros : scaled >= Double(maxMicros) ? maxMicros : Int64(scaled)
        }
        let (secs, us) = floorDivMod(micros, 1_000_000)
        let (days, sod) = floorDivMod(secs, 86_400)
        let (y, m, d) = civilFromDays(days)
        let hh = Int(sod / 3600), mm = Int(sod / 60 % 60), ss = Int(sod % 60)

        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buf in
            var k = 0
            func put(_ v: Int, _ width: Int) {
                var v = v
                for j in stride(from: width - 1, through: 0, by: -1) {
                    buf[k + j] = UInt8(v % 10) + 0x30
                    v /= 10
                }
                k += width
            }
            func put(ascii c: UInt8) {
                buf[k] = c
                k += 1
            }
            let dash = UInt8(ascii: "-"), colon = UInt8(ascii: ":")
            put(y, 4); put(ascii: dash); put(m, 2); put(ascii: dash); put(d, 2)
            put(ascii: UInt8(ascii: "T")); put(hh, 2); put(ascii: colon); put(mm, 2); put(ascii: colon); put(ss, 2)
            if us != 0 {
                put(ascii: UInt8(ascii: "."))
                put(Int(us), 6)
            }
            put(ascii: UInt8(ascii: "+")); put(0, 2); put(ascii: colon); put(0, 2)
            return String(decoding: UnsafeBufferPointer(rebasing: buf[0..<k]), as: UTF8.self)
        }
    }

    // MARK: Calendar

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        Int64(CivilTime.days(year: year, month: month, day: day))
    }

    /// The proleptic Gregorian date `days` after 1970-01-01.
    public static func civilFromDays(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        CivilTime.civil(fromDays: Int(days))
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        CivilTime.daysIn(month: month, year: year)
    }

    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }
}
