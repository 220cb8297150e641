import PlugworkerCore

/// A POSIX TZ rule, as in a TZif file's footer: `EST5EDT,M3.2.0,M11.1.0`,
/// `CET-1CEST,M3.5.0,M10.5.0/3`, `<+0330>-3:30`, `UTC0`.
///
/// POSIX offsets are west of UTC (`EST5` is UTC−5); this type stores them
/// east of UTC, as TZif does. Rules: `Mm.w.d` (day d of week w of month m,
/// w = 5 meaning the last), `Jn` (day n of a non-leap year, 1–365) and `n`
/// (zero-based day of the year); each with an optional `/time`, which may
/// be negative or exceed 24 hours (RFC 8536).
struct PosixTZRule: Sendable, Equatable {
    enum Day: Sendable, Equatable {
        case monthWeekDay(month: Int, week: Int, weekday: Int)
        case julianNoLeap(Int)
        case zeroBased(Int)
    }

    struct Change: Sendable, Equatable {
        var day: Day
        var time: Int  // seconds after local midnight, in the offset before the change
    }

    var standard: Int32
    var daylight: Int32?
    var start: Change?
    var end: Change?

    init?(parsing text: String) {
        var s = Substring(text)
        guard Self.skipName(&s), let std = Self.offset(&s) else { return nil }
        standard = -std
        if s.isEmpty {
            daylight = nil
            return
        }
        guard Self.skipName(&s) else { return nil }
        if let first = s.first, first != "," {
            guard let dst = Self.offset(&s) else { return nil }
            daylight = -dst
        } else {
            daylight = standard + 3600
        }
        guard s.first == "," else { return nil }
        s.removeFirst()
        guard let a = Self.change(&s), s.first == "," else { return nil }
        s.removeFirst()
        guard let b = Self.change(&s), s.isEmpty else { return nil }
        start = a
        end = b
    }

    /// The offset east of UTC at the UTC instant `t`.
    func offset(at t: Int64) -> Int32 {
        guard let daylight, let start, let end else { return standard }
        let year = CivilTime(localSeconds: t + Int64(standard)).year
        // DST starts at `start` (standard time) and ends at `end` (daylight time).
        let begins = Self.instant(start, year: year) - Int64(standard)
        let ends = Self.instant(end, year: year) - Int64(daylight)
        if begins < ends {
            return t >= begins && t < ends ? daylight : standard
        }
        // Southern hemisphere: DST spans the new year.
        return t >= ends && t < begins ? standard : daylight
    }

    /// Local seconds (in the offset before the change) of a change in `year`.
    static func instant(_ c: Change, year: Int) -> Int64 {
        let days: Int
        switch c.day {
        case .julianNoLeap(let n):
            // 1–365, February 29 never counted.
            var d = CivilTime.days(year: year, month: 1, day: 1) + n - 1
            if CivilTime.isLeap(year) && n >= 60 { d += 1 }
            days = d
        case .zeroBased(let n):
            days = CivilTime.days(year: year, month: 1, day: 1) + n
        case .monthWeekDay(let month, let week, let weekday):
            let first = CivilTime.days(year: year, month: month, day: 1)
            var d = first + (weekday - CivilTime.weekday(days: first) + 7) % 7 + (week - 1) * 7
            let last = first + CivilTime.daysIn(month: month, year: year) - 1
            while d > last { d -= 7 }
            days = d
        }
        return Int64(days) * 86_400 + Int64(c.time)
    }

    // MARK: Parsing

    private static func skipName(_ s: inout Substring) -> Bool {
        if s.first == "<" {
            guard let close = s.firstIndex(of: ">") else { return false }
            s = s[s.index(after: close)...]
            return true
        }
        let name = s.prefix(while: { $0.isLetter })
        guard name.count >= 3 else { return false }
        s = s.dropFirst(name.count)
        return true
    }

    /// `[+-]hh[:mm[:ss]]` in seconds (POSIX sign: positive is west).
    private static func offset(_ s: inout Substring) -> Int32? {
        var sign: Int32 = 1
        if s.first == "+" || s.first == "-" {
            if s.first == "-" { sign = -1 }
            s.removeFirst()
        }
        guard let t = clock(&s) else { return nil }
        return sign * Int32(t)
    }

    /// `hh[:mm[:ss]]` in seconds.
    private static func clock(_ s: inout Substring) -> Int? {
        var parts: [Int] = []
        while parts.count < 3 {
            let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let v = Int(digits) else { return nil }
            parts.append(v)
            s = s.dropFirst(digits.count)
            guard s.first == ":" else { break }
            s.removeFirst()
        }
        return parts.enumerated().reduce(0) { $0 + $1.element * [3600, 60, 1][$1.offset] }
    }

    private static func change(_ s: inout Substring) -> Change? {
        let day: Day
        if s.first == "M" {
            s.removeFirst()
            let fields = s.prefix(while: { $0 != "/" && $0 != "," }).split(separator: ".")
            guard fields.count == 3, let m = Int(fields[0]), let w = Int(fields[1]), let d = Int(fields[2]),
                  (1...12).contains(m), (1...5).contains(w), (0...6).contains(d) else { return nil }
            s = s.drop(while: { $0 != "/" && $0 != "," })
            day = .monthWeekDay(month: m, week: w, weekday: d)
        } else if s.first == "J" {
            s.removeFirst()
            let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
            guard let n = Int(digits), (1...365).contains(n) else { return nil }
            s = s.dropFirst(digits.count)
            day = .julianNoLeap(n)
        } else {
            let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
            guard let n = Int(digits), (0...365).contains(n) else { return nil }
            s = s.dropFirst(digits.count)
            day = .zeroBased(n)
        }
        var time = 7200
        if s.first == "/" {
            s.removeFirst()
            var sign = 1
            if s.first == "-" || s.first == "+" {
                if s.first == "-" { sign = -1 }
                s.removeFirst()
            }
            guard let t = clock(&s) else { return nil }
            time = sign * t
        }
        return Change(day: day, time: time)
    }
}
