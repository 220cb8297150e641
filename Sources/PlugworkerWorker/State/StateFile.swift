#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCore

/// What `--statedb FILE` keeps across restarts (Celery's
/// `worker.state.Persistent`): the revoked task ids and the Lamport clock.
///
/// Celery stores them in a Python `shelve` (a pickled, zlib-compressed
/// `LimitedSet` under `zrevoked`); that format cannot be read without
/// Python, so plugworker writes a JSON document instead:
///
///     {"format": "plugworker-statedb", "version": 1, "clock": 123,
///      "revoked": [["d9b1…", 1795259024.44], ["a1f3…", 1795259031.02]]}
///
/// - `revoked`: `[task id, revoked at]` pairs, oldest first, the time in
///   Unix epoch seconds (wall clock: the set's own monotonic stamps mean
///   nothing after a reboot). The order matters: when the set is full the
///   oldest ids go first.
/// - `clock`: the node's clock when saved; at load the clock moves past it.
///
/// Unlike Celery 5.7 (which re-stamps ids read back "now", so they live
/// another 3 h), ids keep their revocation time: those older than the
/// set's expiry (`REVOKE_EXPIRES`, 10,800 s) are dropped at load, and only
/// the newest `REVOKES_MAX` (50,000) are kept.
///
/// The file is replaced atomically (written beside as `FILE.tmp`, fsynced,
/// renamed over, the directory fsynced), so a crash leaves the previous
/// state or the new one, never a torn file. A file that cannot be read or
/// parsed is not fatal: the worker says so and starts with an empty set,
/// as Celery starts afresh from a corrupt schedule.
struct StateFile: Equatable {
    static let format = "plugworker-statedb"
    static let version: Int64 = 1

    /// Revoked ids with their revocation time (epoch seconds), oldest first.
    var revoked: [Revocation] = []
    /// The node's Lamport clock.
    var clock = 0

    struct Revocation: Equatable {
        var id: String
        var at: Double
    }

    /// Why a state file was not used (the worker logs it and starts empty).
    struct LoadProblem: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    // MARK: Reading

    /// Reads `path`. A missing file is an empty state and no problem.
    /// - Parameters:
    ///   - now: the wall clock (epoch seconds), to drop expired ids.
    ///   - expiry: seconds an id stays revoked (`RevokedSet.expiry`).
    ///   - maxCount: the newest this many ids are kept.
    /// - Returns: the state, and what was wrong with the file, if anything
    ///   (the state is then empty).
    static func load(path: String, now: Double, expiry: Double = RevokedSet.defaultExpiry,
                     maxCount: Int = RevokedSet.defaultMaxCount) -> (state: StateFile, problem: LoadProblem?) {
        guard let bytes = FileBytes.read(path) else {
            if errno == ENOENT { return (StateFile(), nil) }
            return (StateFile(), LoadProblem(description: "cannot read \(path): \(String(cString: strerror(errno)))"))
        }
        do {
            return (try parse(bytes, now: now, expiry: expiry, maxCount: maxCount), nil)
        } catch {
            return (StateFile(), LoadProblem(description: "\(path) is not a plugworker state file (\(error.description))"))
        }
    }

    /// Parses a state document, dropping ids revoked more than `expiry`
    /// seconds before `now` and all but the newest `maxCount`.
    /// - Throws: `LoadProblem` saying what is wrong with the document.
    static func parse(_ bytes: [UInt8], now: Double, expiry: Double = RevokedSet.defaultExpiry,
                      maxCount: Int = RevokedSet.defaultMaxCount) throws(LoadProblem) -> StateFile {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw LoadProblem(description: "invalid JSON: \(error)")
        }
        guard json["format"]?.stringValue == format else {
            throw LoadProblem(description: "no \"format\": \"\(format)\"")
        }
        guard let version = json["version"]?.int64Value, version == Self.version else {
            throw LoadProblem(description: "unsupported version \(json["version"]?.serialized ?? "none"); this plugworker reads version \(Self.version)")
        }
        guard let items = json["revoked"]?.arrayValue else {
            throw LoadProblem(description: "\"revoked\" is not a list")
        }
        var state = StateFile()
        state.clock = Int(clamping: json["clock"]?.int64Value ?? 0)
        for (i, item) in items.enumerated() {
            guard let id = item[0]?.stringValue, let at = item[1]?.doubleValue, at.isFinite else {
                throw LoadProblem(description: "revoked[\(i)] is not [task id, epoch seconds]: \(item.serialized)")
            }
            if now - at > expiry { continue }
            state.revoked.append(Revocation(id: id, at: min(at, now)))
        }
        if state.revoked.count > maxCount { state.revoked.removeFirst(state.revoked.count - maxCount) }
        return state
    }


    // MARK: The revoked set

    /// The set's ids with their times turned into wall-clock time.
    /// - Parameters:
    ///   - monotonicNow: `Timer.now()`, the clock of the set's stamps.
    ///   - wallNow: the wall clock now (epoch seconds).
    init(revoked set: RevokedSet, clock: Int, monotonicNow: Double, wallNow: Double) {
        self.clock = clock
        revoked = set.entries.map { Revocation(id: $0.id, at: wallNow - (monotonicNow - $0.at)) }
    }

    init(revoked: [Revocation] = [], clock: Int = 0) {
        self.revoked = revoked
        self.clock = clock
    }

    /// Adds the ids to `set`, oldest first, with their times turned back
    /// into the set's monotonic clock.
    func restore(into set: inout RevokedSet, monotonicNow: Double, wallNow: Double) {
        for r in revoked {
            set.insert(r.id, at: monotonicNow - max(0, wallNow - r.at), now: monotonicNow)
        }
    }

    // MARK: Writing

    /// The document written to the file.
    var json: JSON {
        .object(JSONObject([
            .init("format", .string(Self.format)),
            .init("version", .int(Self.version)),
            .init("clock", .int(Int64(clock))),
            .init("revoked", .array(revoked.map { .array([.string($0.id), .double(($0.at * 1000).rounded() / 1000)]) })),
        ]))
    }

    /// Writes the state to `path` atomically (see the type's description).
    /// - Throws: `SaveError` naming the file, the call that failed and why.
    func save(path: String) throws(SaveError) {
        do {
            try FileBytes.replace(path, with: json.serializedBytes + [0x0A], mode: 0o600)
        } catch {
            throw SaveError(path: path, call: error.call, errnoValue: error.errnoValue)
        }
    }

    /// The state file could not be written; the previous one is intact.
    struct SaveError: Error, CustomStringConvertible {
        var path: String
        var call: String
        var errnoValue: Int32 = errno

        var description: String {
            "cannot write the state file \(path) (\(call): \(String(cString: strerror(errnoValue))))"
        }
    }
}
