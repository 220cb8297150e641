import PlugworkerCore

/// When an entry runs: every so many seconds, or on a crontab.
public enum BeatSchedule: Sendable, Equatable, CustomStringConvertible {
    /// Every `seconds` after the last run (Celery's `schedule(run_every=…)`).
    case interval(seconds: Double)
    /// On the crontab's wall-clock times in the schedule's zone.
    case crontab(Crontab)

    /// The first due time after a run at `lastRun` (UTC seconds).
    public func next(after lastRun: Double, in zone: ZoneInfo) -> Double? {
        switch self {
        case .interval(let seconds): return lastRun + seconds
        case .crontab(let c): return c.next(after: lastRun, in: zone)
        }
    }

    public var description: String {
        switch self {
        case .interval(let s): return "<freq: \(Self.format(seconds: s))>"
        case .crontab(let c): return c.description
        }
    }

    /// `30s`, `1m30s`, `2h`, `1.5s`.
    static func format(seconds: Double) -> String {
        if seconds != seconds.rounded() || seconds < 60 { return "\(Self.trim(seconds))s" }
        var rest = Int(seconds)
        var out = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }

    static func trim(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    /// Parses an interval: a number of seconds, or `30s`, `5m`, `1h30m`,
    /// `2d`, `500ms`.
    /// - Throws: `.badInterval` naming the entry.
    public static func interval(parsing text: String, entry: String) throws(BeatError) -> BeatSchedule {
        func fail(_ why: String) -> BeatError {
            BeatError(.badInterval, "schedule entry \(entry): every \"\(text)\": \(why)",
                      hint: "write seconds (30) or a duration like \"30s\", \"5m\", \"1h30m\", \"2d\", \"500ms\"")
        }
        let s = Substring(text).trimmingSpaces
        if let v = Double(s) {
            guard v > 0, v.isFinite else { throw fail("not a positive number of seconds") }
            return .interval(seconds: v)
        }
        var total = 0.0
        var rest = s
        guard !rest.isEmpty else { throw fail("empty") }
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard !number.isEmpty, let v = Double(number) else { throw fail("expected a number at \"\(rest)\"") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix(while: { $0.isLetter })
            rest = rest.dropFirst(unit.count)
            switch unit.lowercased() {
            case "ms": total += v / 1000
            case "s", "sec", "secs", "second", "seconds": total += v
            case "m", "min", "mins", "minute", "minutes": total += v * 60
            case "h", "hour", "hours": total += v * 3600
            case "d", "day", "days": total += v * 86_400
            case "": throw fail("\(number) needs a unit (s, m, h, d)")
            default: throw fail("unknown unit \"\(unit)\"")
            }
        }
        guard total > 0 else { throw fail("not positive") }
        return .interval(seconds: total)
    }
}
