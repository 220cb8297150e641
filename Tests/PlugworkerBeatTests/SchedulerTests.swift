#if canImport(Glibc)
import Glibc
#endif
import PlugworkerBeat
import PlugworkerCore
import Testing

/// A fresh directory for state files.
func tempDir() -> String {
    var template = Array("/tmp/pw-beat-test.XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

private let config = """
    [beat]
    timezone = "Europe/Paris"

    [beat.schedule.every-10s]
    task = "arith.add"
    args = [2, 3]
    every = "10s"

    [beat.schedule.nightly]
    task = "text.upper"
    args = ["night"]
    crontab = { minute = "0", hour = "3" }
    options = { queue = "reports", priority = 5, expires = 60 }
    """

@Suite("Scheduler: an injectable clock through ticks, restarts and reloads")
struct SchedulerTests {
    @Test("intervals fire every period from the last run; crontabs on their wall time")
    func ticks() throws {
        let cfg = try BeatConfig.parse(config, statePath: "/dev/null")
        let start = at(2026, 12, 4, 2, 59, 55, in: cfg.zone)
        let s = Scheduler(config: cfg, state: BeatState(), now: start)
        #expect(s.nextDue == start + 5, "nightly, at 03:00 Paris time")
        var log: [String] = []
        var t = start
        // Step the clock to each due time for a minute of schedule time.
        while let due = s.nextDue, due <= start + 60 {
            t = due
            s.tick(now: t) { log.append("\($0.name)@\(Int(t - start))"); return true }
        }
        #expect(log.first == "nightly@5", "03:00 Paris is 5 s after the start")
        #expect(log.filter { $0.hasPrefix("every-10s") } == (1...6).map { "every-10s@\($0 * 10)" })
        #expect(s.state.records["every-10s"]?.totalRunCount == 6)
        let nightly = try #require(s.listing.first { $0.entry.name == "nightly" }?.next)
        #expect(wall(nightly, in: cfg.zone) == "2026-12-05 03:00:00")
    }

    @Test("an entry missed while beat was down runs once on start, then on schedule")
    func missedRunsOnce() throws {
        let cfg = try BeatConfig.parse(config, statePath: "/dev/null")
        let t0 = at(2026, 12, 4, 12, in: cfg.zone)
        let first = Scheduler(config: cfg, state: BeatState(), now: t0)
        first.tick(now: t0 + 10) { _ in true }
        // Down for three days: the nightly run was missed three times and the
        // 10 s interval thousands of times.
        let restart = t0 + 3 * 86_400
        let second = Scheduler(config: cfg, state: first.state, now: restart)
        var sent: [String] = []
        second.tick(now: restart) { sent.append($0.name); return true }
        #expect(sent.sorted() == ["every-10s", "nightly"])
        second.tick(now: restart + 1) { sent.append($0.name); return true }
        #expect(sent.count == 2, "nothing more until the schedule says")
        #expect(second.nextDue == restart + 10)
    }

    @Test("persistence: a restart neither double-fires nor skips")
    func restartKeepsSchedule() throws {
        let dir = tempDir()
        let path = dir + "/state"
        let cfg = try BeatConfig.parse(config, statePath: path)
        let t0 = at(2026, 12, 4, 12, in: cfg.zone)
        let a = Scheduler(config: cfg, state: BeatState.load(path: path).state, now: t0)
        a.tick(now: t0 + 10) { _ in true }
        try a.state.save(path: path)
        // Restarted 4 s later: the interval entry is due at t0 + 20, not now and not t0 + 24.
        let loaded = BeatState.load(path: path)
        #expect(loaded.warning == nil && loaded.state == a.state)
        let b = Scheduler(config: cfg, state: loaded.state, now: t0 + 14)
        var sent: [String] = []
        b.tick(now: t0 + 14) { sent.append($0.name); return true }
        #expect(sent.isEmpty)
        #expect(b.nextDue == t0 + 20)
    }

    @Test("a corrupt state file starts afresh with a warning; a failed send is retried, not recorded")
    func corruptAndRetry() throws {
        let dir = tempDir()
        let path = dir + "/state"
        let f = fopen(path, "w")!
        fputs("{not json", f)
        fclose(f)
        let loaded = BeatState.load(path: path)
        #expect(loaded.state.records.isEmpty && loaded.warning?.contains("corrupt") == true)
        let cfg = try BeatConfig.parse(config, statePath: path)
        let s = Scheduler(config: cfg, state: loaded.state, now: 0)
        s.retryDelay = 1
        s.tick(now: 10) { _ in false }
        #expect(s.state.records["every-10s"]?.totalRunCount == 0)
        #expect(s.nextDue == 11)
        s.tick(now: 11) { _ in true }
        #expect(s.state.records["every-10s"]?.totalRunCount == 1)
        #expect(s.nextDue == 21)
    }

    @Test("reload: entries added and removed without a restart; kept ones keep their last run")
    func reload() throws {
        let cfg = try BeatConfig.parse(config, statePath: "/dev/null")
        let s = Scheduler(config: cfg, state: BeatState(), now: 0)
        s.tick(now: 10) { _ in true }
        let next = try BeatConfig.parse("""
            [beat.schedule.every-10s]
            task = "arith.add"
            every = 10
            [beat.schedule.hourly]
            task = "arith.mul"
            args = [2.0, 4.0]
            crontab = { minute = 0 }
            """, statePath: "/dev/null")
        s.reload(next, now: 15)
        #expect(s.listing.map(\.entry.name) == ["every-10s", "hourly"])
        #expect(s.state.records["nightly"] == nil)
        #expect(s.nextDue == 20, "every-10s keeps its last run at 10")
    }

    @Test("the lock: a second beat on the same state is refused, naming the first's pid")
    func lock() throws {
        let path = tempDir() + "/state"
        let first = try BeatLock(statePath: path)
        do {
            _ = try BeatLock(statePath: path)
            Issue.record("a second lock was granted")
        } catch {
            #expect(error.code == .locked)
            #expect(error.message.contains("pid \(getpid())"), "\(error.message)")
        }
        first.release()
        let again = try BeatLock(statePath: path)
        again.release()
    }
}

@Suite("Beat config: the [beat] table of plugworker.toml")
struct BeatConfigTests {
    @Test("entries, options, zone and state path")
    func parse() throws {
        let cfg = try BeatConfig.parse(config, statePath: nil, defaultState: "/x/plugworker-beat.state")
        #expect(cfg.zone.name == "Europe/Paris" && cfg.statePath == "/x/plugworker-beat.state")
        #expect(cfg.entries.map(\.name) == ["every-10s", "nightly"])
        #expect(cfg.entries[0].schedule == .interval(seconds: 10) && cfg.entries[0].args == [2, 3])
        let n = cfg.entries[1]
        #expect(n.queue == "reports" && n.priority == 5 && n.expires == 60 && n.task == "text.upper")
    }

    @Test("durations", arguments: [("30", 30.0), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172_800), ("500ms", 0.5)])
    func durations(text: String, seconds: Double) throws {
        #expect(try BeatSchedule.interval(parsing: text, entry: "e") == .interval(seconds: seconds))
    }

    @Test("errors name the entry and field", arguments: [
        ("[beat.schedule.a]\nevery = \"1s\"", "schedule entry a: no task"),
        ("[beat.schedule.a]\ntask = \"t\"", "schedule entry a: no schedule"),
        ("[beat.schedule.a]\ntask = \"t\"\nevery = \"5 parsecs\"", "schedule entry a: every \"5 parsecs\""),
        ("[beat.schedule.a]\ntask = \"t\"\nevery = 1\ncrontab = {}", "both every and crontab"),
        ("[beat.schedule.a]\ntask = \"t\"\nevery = 1\nqueu = \"x\"", "unknown field queu"),
        ("[beat.schedule.a]\ntask = \"t\"\ncrontab = { minute = \"99\" }", "crontab minute \"99\""),
        ("[beat]\ntimezone = \"Mars/Olympus\"", "unknown time zone \"Mars/Olympus\""),
        ("[beat]\ntimezone = \"../etc/passwd\"", "is not a zone name"),
        ("[beat.schedule.a]\ntask = \"t\"\ntask = \"u\"", "line 3"),
    ])
    func errors(text: String, fragment: String) {
        #expect(throws: BeatError.self) { try BeatConfig.parse(text) }
        do {
            _ = try BeatConfig.parse(text)
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
}
