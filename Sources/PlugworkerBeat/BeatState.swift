#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCore

/// What beat remembers across restarts: each entry's last run and run
/// count, as Celery's `celerybeat-schedule` shelve does. A JSON file,
/// replaced atomically (written beside, flushed, renamed) so that a crash
/// mid-write leaves the previous state, never a torn one.
public struct BeatState: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        /// UTC seconds of the last time the entry was sent.
        public var lastRunAt: Double
        public var totalRunCount: Int
        public init(lastRunAt: Double, totalRunCount: Int) {
            self.lastRunAt = lastRunAt
            self.totalRunCount = totalRunCount
        }
    }

    public var records: [String: Record] = [:]

    public init(records: [String: Record] = [:]) {
        self.records = records
    }

    /// Reads the state file. A missing file is an empty state; an unreadable
    /// or corrupt one is too, with `warning` saying so (Celery also starts
    /// afresh from a corrupt schedule file).
    public static func load(path: String) -> (state: BeatState, warning: String?) {
        guard let text = BeatConfig.readText(path) else {
            if errno == ENOENT { return (BeatState(), nil) }
            return (BeatState(), "cannot read the beat state \(path): \(String(cString: strerror(errno))); starting afresh")
        }
        guard let json = try? JSON.parse(text), let entries = json["entries"]?.objectValue else {
            return (BeatState(), "the beat state \(path) is corrupt; starting afresh")
        }
        var state = BeatState()
        for m in entries {
            guard let last = m.value["last_run_at"]?.doubleValue else { continue }
            state.records[m.key] = Record(lastRunAt: last, totalRunCount: Int(m.value["total_run_count"]?.int64Value ?? 0))
        }
        return (state, nil)
    }

    /// The JSON document written to the file (entries sorted by name).
    public var json: JSON {
        var entries = JSONObject()
        for name in records.keys.sorted() {
            let r = records[name]!
            entries[name] = ["last_run_at": .double(r.lastRunAt), "total_run_count": .int(Int64(r.totalRunCount))]
        }
        return ["version": 1, "entries": .object(entries)]
    }

    /// Writes the state to `path` atomically.
    /// - Throws: `.stateWrite` naming the file and the system's reason.
    public func save(path: String) throws(BeatError) {
        do {
            try FileBytes.replace(path, with: json.serializedBytes + [0x0A])
        } catch {
            throw BeatError(.stateWrite, "cannot write the beat state \(path): \(error)",
                            hint: "make its directory writable, or choose another file with -s/--schedule")
        }
    }
}
