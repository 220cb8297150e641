import PlugworkerBeat
import Testing
import PlugworkerCore

/// UTC seconds of a wall time in `zone`.
func at(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0, in zone: ZoneInfo = .utc) -> Double {
    Double(zone.instant(ofLocal: CivilTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s).localSeconds))
}

/// The wall time of a UTC instant, as "YYYY-MM-DD hh:mm:ss".
func wall(_ t: Double?, in zone: ZoneInfo = .utc) -> String {
    guard let t else { return "never" }
    return zone.civil(at: Int64(t)).description
}

@Suite("Crontab: parsing, with Celery's field syntax")
struct CrontabParsingTests {
    @Test("steps, ranges, lists and names")
    func fields() throws {
        let c = try Crontab(minute: "*/15", hour: "9-17/4", dayOfWeek: "mon-fri", dayOfMonth: "1,15", monthOfYear: "jan-mar,dec")
        #expect(c.minutes == [0, 15, 30, 45])
        #expect(c.hours == [9, 13, 17])
        #expect(c.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(c.daysOfMonth == [1, 15])
        #expect(c.months == [1, 2, 3, 12])
    }

    @Test("day_of_week: 0 and 7 are Sunday, full names, wrapping ranges, '*' is the 7 days")
    func weekdays() throws {
        #expect(try Crontab(dayOfWeek: "7").daysOfWeek == [0])
        #expect(try Crontab(dayOfWeek: "sunday,Saturday").daysOfWeek == [0, 6])
        #expect(try Crontab(dayOfWeek: "fri-mon").daysOfWeek == [5, 6, 0, 1])
        #expect(try Crontab(dayOfWeek: "*").daysOfWeek == Set(0...6))
        #expect(try Crontab(minute: "50/5").minutes == [50, 55])
    }

    @Test("errors name the entry, the field and the part", arguments: [
        ("minute", "60", "60 is out of range 0-59"),
        ("minute", "*/0", "step \"0\" is not a positive number"),
        ("hour", "5-2", "range 5-2 goes backwards"),
        ("hour", "nine", "\"nine\" is not a number"),
        ("day_of_week", "mon-funday", "\"funday\" is not a number or a name"),
        ("month_of_year", "13", "13 is out of range 1-12"),
        ("day_of_month", "", "empty field"),
        ("minute", "1/2/3", "more than one '/'"),
    ])
    func errors(field: String, value: String, fragment: String) {
        do {
            switch field {
            case "minute": _ = try Crontab(minute: value, entry: "nightly")
            case "hour": _ = try Crontab(hour: value, entry: "nightly")
            case "day_of_week": _ = try Crontab(dayOfWeek: value, entry: "nightly")
            case "day_of_month": _ = try Crontab(dayOfMonth: value, entry: "nightly")
            default: _ = try Crontab(monthOfYear: value, entry: "nightly")
            }
            Issue.record("\(field)=\(value) parsed")
        } catch {
            #expect(error.code == .badCrontab)
            #expect(error.message.contains("schedule entry nightly: crontab \(field) \"\(value)\""), "\(error.message)")
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test("February 30 is refused as never due")
    func neverDue() {
        #expect(throws: BeatError.self) { try Crontab(dayOfMonth: "30,31", monthOfYear: "feb") }
        #expect((try? Crontab(dayOfMonth: "29", monthOfYear: "feb")) != nil)
    }
}

@Suite("Crontab: next due times")
struct CrontabNextTests {
    @Test("every minute, hourly, daily: the next whole match strictly after now")
    func simple() throws {
        let now = at(2026, 12, 4, 18, 22, 39)
        #expect(wall(try Crontab().next(after: now, in: .utc)) == "2026-12-04 18:23:00")
        #expect(wall(try Crontab(minute: "0").next(after: now, in: .utc)) == "2026-12-04 19:00:00")
        #expect(wall(try Crontab(minute: "30", hour: "4").next(after: now, in: .utc)) == "2026-12-05 04:30:00")
        // Exactly on a match: the next one, not the same.
        #expect(wall(try Crontab(minute: "0").next(after: at(2026, 1, 1, 10), in: .utc)) == "2026-01-01 11:00:00")
    }

    @Test("across month and year ends")
    func monthEnds() throws {
        #expect(wall(try Crontab(minute: "0", hour: "0", dayOfMonth: "31").next(after: at(2026, 1, 31, 12), in: .utc))
            == "2026-03-31 00:00:00")
        #expect(wall(try Crontab(minute: "0", hour: "0", dayOfMonth: "1").next(after: at(2026, 12, 31, 23, 59), in: .utc))
            == "2027-01-01 00:00:00")
        #expect(wall(try Crontab(minute: "15", hour: "3", monthOfYear: "jun").next(after: at(2026, 7, 1), in: .utc))
            == "2027-06-01 03:15:00")
    }

    @Test("leap years: February 29 comes every 4 years, not in 2100")
    func leap() throws {
        let feb29 = try Crontab(minute: "0", hour: "12", dayOfMonth: "29", monthOfYear: "2")
        #expect(wall(feb29.next(after: at(2026, 3, 1), in: .utc)) == "2028-02-29 12:00:00")
        #expect(wall(feb29.next(after: at(2096, 3, 1), in: .utc)) == "2104-02-29 12:00:00")
    }

    @Test("day_of_month and day_of_week must both match, as Celery's (not cron's OR)")
    func andSemantics() throws {
        let firstMonday = try Crontab(minute: "0", hour: "9", dayOfWeek: "mon", dayOfMonth: "1-7")
        var t = at(2026, 12, 4)
        var got: [String] = []
        for _ in 0..<3 {
            t = try #require(firstMonday.next(after: t, in: .utc))
            got.append(wall(t))
        }
        #expect(got == ["2026-12-07 09:00:00", "2027-01-04 09:00:00", "2027-02-01 09:00:00"])
    }

    @Test("weekdays in a time zone: mon-fri at 09:00 Paris time")
    func weekdaysInZone() throws {
        let paris = try ZoneInfo.named("Europe/Paris")
        let c = try Crontab(minute: "0", hour: "9", dayOfWeek: "mon-fri")
        // Friday 2026-12-04 10:00 Paris → Monday 2026-12-07 09:00 Paris = 08:00 UTC.
        let next = try #require(c.next(after: at(2026, 12, 4, 10, in: paris), in: paris))
        #expect(wall(next, in: paris) == "2026-12-07 09:00:00")
        #expect(wall(next) == "2026-12-07 08:00:00")
    }

    @Test("DST: a daily time keeps its wall time across both changes (Paris and New York)", arguments: [
        ("Europe/Paris", (2026, 3, 29), (2026, 10, 25)),
        ("America/New_York", (2026, 3, 8), (2026, 11, 1)),
    ])
    func dstWallTime(name: String, spring: (Int, Int, Int), fall: (Int, Int, Int)) throws {
        let zone = try ZoneInfo.named(name)
        let daily = try Crontab(minute: "30", hour: "9")
        for (day, hours) in [(spring, 23.0), (fall, 25.0)] {
            // From noon two days before: the run the day before, then the one on the change day.
            let before = try #require(daily.next(after: at(day.0, day.1, day.2 - 2, 12, in: zone), in: zone))
            let on = try #require(daily.next(after: before, in: zone))
            #expect(zone.civil(at: Int64(on)) == CivilTime(year: day.0, month: day.1, day: day.2, hour: 9, minute: 30))
            #expect(on - before == hours * 3600, "\(name): the change day is \(hours) hours long")
        }
    }

    @Test("DST gap: 02:30 on the spring-forward night runs at 03:30, once; the fall-back hour runs once")
    func dstGapAndOverlap() throws {
        let paris = try ZoneInfo.named("Europe/Paris")
        let c = try Crontab(minute: "30", hour: "2")
        // 2026-03-29: 02:00 → 03:00 in Paris.
        let gap = try #require(c.next(after: at(2026, 3, 28, 12, in: paris), in: paris))
        #expect(wall(gap, in: paris) == "2026-03-29 03:30:00")
        #expect(wall(gap) == "2026-03-29 01:30:00")
        #expect(wall(c.next(after: gap, in: paris), in: paris) == "2026-03-30 02:30:00")
        // 2026-10-25: 03:00 → 02:00; 02:30 happens twice; it runs at the first.
        let overlap = try #require(c.next(after: at(2026, 10, 24, 12, in: paris), in: paris))
        #expect(wall(overlap) == "2026-10-25 00:30:00")
        let after = try #require(c.next(after: overlap, in: paris))
        #expect(wall(after, in: paris) == "2026-10-26 02:30:00", "not again an hour later")
    }

    @Test("every 15 minutes through the fall-back hour: 02:xx runs once, never goes backwards")
    func quarterHoursThroughOverlap() throws {
        let ny = try ZoneInfo.named("America/New_York")
        let c = try Crontab(minute: "*/15")
        var t = at(2026, 11, 1, 0, 50, in: ny)
        var times: [Double] = []
        for _ in 0..<12 {
            t = try #require(c.next(after: t, in: ny))
            times.append(t)
        }
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        #expect(times.map { wall($0, in: ny) }.filter { $0.hasPrefix("2026-11-01 01:") }.count >= 4)
    }
}
