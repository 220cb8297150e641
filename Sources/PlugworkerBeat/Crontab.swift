import PlugworkerCore

/// A crontab schedule with Celery's semantics (`celery.schedules.crontab`).
///
/// Five fields, each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`,
/// or a comma-separated list of those; `day_of_week` takes `sun`…`sat`
/// (and full names, 0 or 7 = Sunday), `month_of_year` takes `jan`…`dec`.
/// Ranges of days of the week may wrap (`fri-mon`).
///
/// As in Celery, and unlike Unix cron, a day must match **both**
/// `day_of_month` and `day_of_week` (and `month_of_year`) to be due: with
/// `day_of_month = "1-7", day_of_week = "mon"` the task runs on the first
/// Monday of the month, not on every Monday and every day 1–7.
///
/// The fields are wall-clock times in the schedule's time zone; `next(after:)`
/// turns them into UTC instants with `ZoneInfo`, so a daily 09:00 stays at
/// 09:00 across DST changes. A time skipped by a change runs at the same
/// distance after it (02:30 → 03:30 when 02:00 jumps to 03:00); a time that
/// occurs twice runs once, at its first occurrence.
public struct Crontab: Sendable, Equatable, CustomStringConvertible {
    public let minutes: [Int]  // sorted, 0–59
    public let hours: [Int]  // 0–23
    public let daysOfWeek: Set<Int>  // 0 = Sunday … 6
    public let daysOfMonth: Set<Int>  // 1–31
    public let months: Set<Int>  // 1–12
    /// The fields as written, for listings.
    public let text: (minute: String, hour: String, dayOfWeek: String, dayOfMonth: String, monthOfYear: String)

    public static func == (a: Crontab, b: Crontab) -> Bool {
        a.minutes == b.minutes && a.hours == b.hours && a.daysOfWeek == b.daysOfWeek
            && a.daysOfMonth == b.daysOfMonth && a.months == b.months
    }

    /// Parses the five fields (each defaults to `*`, as in Celery).
    /// - Parameter entry: the schedule entry's name, for error messages.
    /// - Throws: `BeatError` `.badCrontab` naming the entry, the field and
    ///   the part that does not parse; `.neverDue` when no date matches.
    public init(minute: String = "*", hour: String = "*", dayOfWeek: String = "*", dayOfMonth: String = "*",
                monthOfYear: String = "*", entry: String = "crontab") throws(BeatError) {
        minutes = try Self.field(minute, "minute", 0...59, names: [:], entry: entry).sorted()
        hours = try Self.field(hour, "hour", 0...23, names: [:], entry: entry).sorted()
        var dow = try Self.field(dayOfWeek, "day_of_week", 0...7, names: Self.weekdayNames, entry: entry, wraps: true)
        if dow.remove(7) != nil { dow.insert(0) }
        daysOfWeek = dow
        daysOfMonth = try Self.field(dayOfMonth, "day_of_month", 1...31, names: [:], entry: entry)
        months = try Self.field(monthOfYear, "month_of_year", 1...12, names: Self.monthNames, entry: entry)
        text = (minute, hour, dayOfWeek, dayOfMonth, monthOfYear)
        // Some month must have one of the days (February 30 never comes).
        let longest = months.map { CivilTime.daysIn(month: $0, year: 2000) }.max() ?? 0
        if daysOfMonth.allSatisfy({ $0 > longest }) {
            throw BeatError(.neverDue, "schedule entry \(entry): crontab day_of_month \"\(dayOfMonth)\" never occurs in month_of_year \"\(monthOfYear)\"",
                            hint: "pick days that the months have")
        }
    }

    public var description: String {
        "<crontab: \(text.minute) \(text.hour) \(text.dayOfWeek) \(text.dayOfMonth) \(text.monthOfYear) (m/h/dow/dom/moy)>"
    }

    /// The first due instant strictly after `t` (UTC seconds), in `zone`.
    /// Looks up to 400 years ahead; `nil` only for a schedule that never
    /// fires (which `init` already refuses, except February 29 alone with
    /// a weekday no leap day takes in 400 years, which cannot happen).
    public func next(after t: Double, in zone: ZoneInfo) -> Double? {
        let now = Int64(t.rounded(.down))
        let local = now + Int64(zone.offset(at: now))
        // Start at the next whole minute of wall time after `local`.
        let startMinute = CivilTime.floorDiv(local, 60) * 60 + 60
        let start = CivilTime(localSeconds: startMinute)
        var day = CivilTime.days(year: start.year, month: start.month, day: start.day)
        let lastDay = day + 366 * 400
        while day <= lastDay {
            let (y, m, d) = CivilTime.civil(fromDays: day)
            if !months.contains(m) {
                // Jump to the first day of the next month.
                day = CivilTime.days(year: m == 12 ? y + 1 : y, month: m == 12 ? 1 : m + 1, day: 1)
                continue
            }
            if daysOfMonth.contains(d) && daysOfWeek.contains(CivilTime.weekday(days: day)) {
                let midnight = Int64(day) * 86_400
                for h in hours {
                    for mi in minutes {
                        let wall = midnight + Int64(h * 3600 + mi * 60)
                        guard wall >= startMinute else { continue }
                        let instant = zone.instant(ofLocal: wall)
                        // A repeated wall time can map before `t`; skip it.
                        if instant > now { return Double(instant) }
                    }
                }
            }
            day += 1
        }
        return nil
    }

    // MARK: Parsing

    static let weekdayNames: [String: Int] = [
        "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
        "sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
    ]
    static let monthNames: [String: Int] = [
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
        "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    ]

    static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String: Int], entry: String,
                      wraps: Bool = false) throws(BeatError) -> Set<Int> {
        func fail(_ why: String) -> BeatError {
            BeatError(.badCrontab, "schedule entry \(entry): crontab \(name) \"\(text)\": \(why)",
                      hint: "use *, N, A-B, */N, A-B/N or a comma list, with \(name) in \(range.lowerBound)-\(range.upperBound)"
                          + (names.isEmpty ? "" : " or names like \(names == weekdayNames ? "mon-fri" : "jan-mar")"))
        }
        func value(_ s: Substring) throws(BeatError) -> Int {
            let word = s.trimmingSpaces.lowercased()
            if let v = names[word] { return v }
            guard let v = Int(word) else { throw fail("\"\(word)\" is not a number" + (names.isEmpty ? "" : " or a name")) }
            guard range.contains(v) else { throw fail("\(v) is out of range \(range.lowerBound)-\(range.upperBound)") }
            return v
        }
        let trimmed = Substring(text).trimmingSpaces
        guard !trimmed.isEmpty else { throw fail("empty field") }
        var out = Set<Int>()
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("more than one '/' in \"\(part)\"") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1].trimmingSpaces), s > 0 else { throw fail("step \"\(pieces[1])\" is not a positive number") }
                step = s
            }
            let base = pieces[0].trimmingSpaces
            var values: [Int]
            if base == "*" {
                let top = wraps ? range.upperBound - 1 : range.upperBound  // day_of_week: 0-6
                values = Array(stride(from: range.lowerBound, through: top, by: step))
            } else if let dash = base.firstIndex(of: "-"), dash != base.startIndex {
                let a = try value(base[..<dash]), b = try value(base[base.index(after: dash)...])
                if a <= b {
                    values = Array(stride(from: a, through: b, by: step))
                } else if wraps {
                    // fri-mon: Friday to Monday across the week's end.
                    let span = (b - a + 7) % 7
                    values = stride(from: 0, through: span, by: step).map { (a + $0) % 7 }
                } else {
                    throw fail("range \(a)-\(b) goes backwards")
                }
            } else {
                let a = try value(base)
                // Celery reads "a/n" as "from a to the end, every n".
                values = pieces.count == 2 ? Array(stride(from: a, through: range.upperBound, by: step)) : [a]
            }
            out.formUnion(values)
        }
        return out
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
