#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCore

/// The `[beat]` part of the config file (`plugworker.toml`):
///
/// ```toml
/// [beat]
/// timezone = "Europe/Paris"            # default UTC, as Celery's
/// state = "plugworker-beat.state"      # last runs; default beside the config
///
/// [beat.schedule.add-every-30s]
/// task = "arith.add"
/// args = [2, 3]
/// every = "30s"
///
/// [beat.schedule.weekday-report]
/// task = "text.upper"
/// args = ["report"]
/// crontab = { minute = "0", hour = "9", day_of_week = "mon-fri" }
/// options = { queue = "reports", priority = 5, expires = 600 }
/// ```
public struct BeatConfig: Sendable, Equatable {
    /// The entries, in the order the file lists them.
    public var entries: [BeatEntry]
    public var zone: ZoneInfo
    /// The state file (last run per entry) and, beside it, its lock.
    public var statePath: String
    /// Where this config was read from (nil when built in code).
    public var path: String?

    public init(entries: [BeatEntry], zone: ZoneInfo = .utc, statePath: String, path: String? = nil) {
        self.entries = entries
        self.zone = zone
        self.statePath = statePath
        self.path = path
    }

    /// Reads the config file at `path`.
    /// - Parameter statePath: overrides `[beat] state` (`-s` on the command line).
    /// - Throws: `BeatError` naming the file, the entry and the field.
    public static func load(path: String, statePath: String? = nil) throws(BeatError) -> BeatConfig {
        guard let text = readText(path) else {
            throw BeatError(.badConfig, "cannot read the config file \(path): \(String(cString: strerror(errno)))",
                            hint: "give an existing file with --config")
        }
        do {
            var config = try parse(text, statePath: statePath, defaultState: defaultStatePath(besides: path))
            config.path = path
            return config
        } catch {
            throw BeatError(error.code, "\(path): \(error.message)", hint: error.hint)
        }
    }

    /// Reads a config document.
    public static func parse(_ text: String, statePath: String? = nil,
                             defaultState: String = "plugworker-beat.state") throws(BeatError) -> BeatConfig {
        let doc: JSONObject
        do {
            doc = try TOMLReader.parse(text)
        } catch {
            throw BeatError(.badConfig, "not valid TOML at line \(error.line), column \(error.column): \(error.message)", hint: error.hint)
        }
        guard let beatValue = doc["beat"] else {
            return BeatConfig(entries: [], statePath: statePath ?? defaultState)
        }
        guard let beat = beatValue.objectValue else {
            throw BeatError(.badConfig, "beat must be a table", hint: "write a [beat] section")
        }
        for m in beat where !["timezone", "state", "schedule"].contains(m.key) {
            throw BeatError(.badConfig, "unknown setting beat.\(m.key)", hint: "the settings are: timezone, state, schedule")
        }
        var zone = ZoneInfo.utc
        if let tz = beat["timezone"] {
            guard let name = tz.stringValue else {
                throw BeatError(.badConfig, "beat.timezone must be a string", hint: "timezone = \"Europe/Paris\"")
            }
            zone = try ZoneInfo.named(name)
        }
        var state = statePath ?? defaultState
        if statePath == nil, let s = beat["state"] {
            guard let p = s.stringValue, !p.isEmpty else {
                throw BeatError(.badConfig, "beat.state must be a file path", hint: "state = \"plugworker-beat.state\"")
            }
            state = p
        }
        var entries: [BeatEntry] = []
        if let s = beat["schedule"] {
            guard let schedule = s.objectValue else {
                throw BeatError(.badConfig, "beat.schedule must be a table of entries", hint: "write [beat.schedule.NAME] sections")
            }
            for m in schedule {
                guard let table = m.value.objectValue else {
                    throw BeatError(.badEntry, "schedule entry \(m.key) must be a table", hint: "write [beat.schedule.\(m.key)]")
                }
                entries.append(try BeatEntry(name: m.key, table: table))
            }
        }
        return BeatConfig(entries: entries, zone: zone, statePath: state)
    }

    /// `plugworker-beat.state` in the config file's directory.
    static func defaultStatePath(besides config: String) -> String {
        guard let slash = config.lastIndex(of: "/") else { return "plugworker-beat.state" }
        return String(config[...slash]) + "plugworker-beat.state"
    }

    static func readText(_ path: String) -> String? {
        FileBytes.read(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
