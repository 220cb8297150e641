#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import PlugworkerBeat
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore
import PlugworkerWorker

/// `plugworker beat`: the periodic task scheduler (as `celery beat`).
struct BeatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beat",
        abstract: "Send the config file's periodic tasks when they are due (as celery beat).",
        discussion: """
            The schedule is the [beat] table of the config file: entries with a task, args,
            kwargs, options, and either `every` (an interval) or `crontab` (Celery's fields),
            in the time zone `beat.timezone`. The last run of each entry is kept in the state
            file, so a restart neither repeats nor skips a run; an entry that came due while
            beat was down runs once on start. One beat per state file: a second one refuses to
            start. HUP, or saving the config file, reloads the schedule.
            Exit status: 0 after TERM/INT; 75 when another beat holds the schedule; 78 for a
            config error.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The config file.", valueName: "file"))
    var config: String = "plugworker.toml"

    @Option(name: [.customShort("s"), .customLong("schedule")], help: ArgumentHelp("The state file (last runs; default: beat.state, or plugworker-beat.state beside the config).", valueName: "file"))
    var schedule: String?

    @Flag(name: .long, help: "Print each entry with its next run time, and exit.")
    var list = false

    @Option(name: .long, help: ArgumentHelp("Broker URL (default: $CELERY_BROKER_URL or amqp://guest:guest@localhost:5672//).", valueName: "url"))
    var broker: String?

    @Option(name: [.customShort("l"), .customLong("loglevel")], help: "Logging level: debug, info, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        guard let level = CeleryLogHandler.level(named: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)' (use debug, info, warning, error or critical)")
        }
        LoggingSystem.bootstrap { CeleryLogHandler(label: $0, level: level) }
        let beatConfig: BeatConfig
        do {
            beatConfig = try BeatConfig.load(path: config, statePath: schedule)
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitStatus.config
        }
        if list {
            print(Self.listing(beatConfig))
            return
        }
        let urlText = broker ?? getenv("CELERY_BROKER_URL").map { String(cString: $0) } ?? "amqp://guest:guest@localhost:5672//"
        let url: BrokerURL
        do {
            url = try BrokerURL(parsing: urlText)
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitStatus.config
        }
        print("""
            celery beat v5 (plugworker) is starting.
            __    -    ... __   -        _
            LocalTime -> \(CeleryTime.format(CeleryTime.now()))
            Configuration ->
                . broker -> \(url.masked)
                . schedule -> \(beatConfig.path ?? config) (\(beatConfig.entries.count) entries, \(beatConfig.zone.name))
                . state -> \(beatConfig.statePath)
            """)
        fflush(nil)
        let beat = try StandaloneBeat(config: beatConfig, brokerURL: url, origin: "beat\(getpid())@\(NodeName.hostname())",
                                      logger: Logger(label: "plugworker.beat"))
        let status = beat.run()
        if status != 0 { throw ExitCode(status) }
    }

    /// One line per entry: name, task, schedule, next run (zone and UTC).
    static func listing(_ config: BeatConfig) -> String {
        let scheduler = Scheduler(config: config, state: BeatState.load(path: config.statePath).state, now: CeleryTime.now())
        var rows = [["entry", "task", "schedule", "next run (\(config.zone.name))", "queue"]]
        for (entry, next) in scheduler.listing {
            let when = next.map { config.zone.civil(at: Int64($0.rounded(.up))).description } ?? "never"
            rows.append([entry.name, entry.task, entry.schedule.description, when, entry.queue])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(to: widths[$0.offset]) }.joined(separator: "  ")
                .trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    func padding(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func trimmingTrailingSpaces() -> String { String(reversed().drop(while: { $0 == " " }).reversed()) }
}
