/// A wall-clock date and time with no zone: what a crontab's fields and a
/// TZ rule's "second Sunday of March at 02:00" speak of.
///
/// The day arithmetic is the proleptic Gregorian calendar's, on days since
/// 1970-01-01 (negative before), exact for any year an `Int` holds.
public struct CivilTime: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int  // 1–12
    public var day: Int  // 1–31
    public var hour: Int = 0
    public var minute: Int = 0
    public var second: Int = 0

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The wall time `seconds` after 1970-01-01 00:00 (a "local epoch"
    /// second count: UTC seconds plus the zone's offset).
    public init(localSeconds seconds: Int64) {
        let days = Int(Self.floorDiv(seconds, 86_400))
        let rest = Int(seconds - Int64(days) * 86_400)
        let (y, m, d) = Self.civil(fromDays: days)
        self.init(year: y, month: m, day: d, hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
    }

    /// Seconds since 1970-01-01 00:00 of this wall time (no zone applied).
    public var localSeconds: Int64 {
        Int64(Self.days(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// 0 = Sunday … 6 = Saturday, as Celery's `day_of_week`.
    public var weekday: Int { Self.weekday(days: Self.days(year: year, month: month, day: day)) }

    public static func < (a: CivilTime, b: CivilTime) -> Bool { a.localSeconds < b.localSeconds }

    public var description: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }

    // MARK: Calendar arithmetic

    /// Days since 1970-01-01 of a date (month and day may be out of range;
    /// they are not normalised, so pass valid ones).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day count from `days(year:month:day:)`.
    public static func civil(fromDays z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// 0 = Sunday for a day count (1970-01-01 was a Thursday).
    public static func weekday(days: Int) -> Int {
        ((days % 7) + 11) % 7
    }

    public static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
