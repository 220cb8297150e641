#if canImport(Glibc)
import Glibc
#endif
import Logging
import PlugworkerCelery

/// The StateDB step's object (`--statedb FILE`; Celery's `StateDB` step and
/// `Persistent`): reads the state file when created, hands the revoked ids
/// and the clock to the consumer before it consumes anything (a task
/// revoked before a restart and delivered right after it is not run), then
/// saves the file once a second while the revoked set changes (revokes,
/// terminates, expiries, mingle and `hello` merges: at most a second of them
/// is lost if the worker is killed) and when the worker stops. Celery only
/// saves at exit. The file format is `StateFile`'s.
final class StateDB {
    /// Seconds between checks for changes to save.
    static let syncInterval = 1.0

    let path: String
    let logger: Logger
    /// What was read at start, until `restore(into:)` hands it over.
    private var loaded: StateFile?
    private var savedChanges = -1
    private var entry: Timer.Entry?

    /// Reads the file; a missing one is an empty state, an unreadable or
    /// corrupt one too, with a warning (the worker starts all the same).
    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
        let (state, problem) = StateFile.load(path: path, now: CeleryTime.now())
        if let problem {
            logger.warning("statedb: \(problem); starting with no revoked tasks")
        } else {
            logger.info("statedb: \(path): \(state.revoked.count) revoked task id\(state.revoked.count == 1 ? "" : "s") loaded, clock \(state.clock)")
        }
        loaded = state
    }

    /// Merges what was read into the consumer's revoked set and clock.
    func restore(into consumer: Consumer) {
        guard let state = loaded else { return }
        loaded = nil
        state.restore(into: &consumer.revokedSet, monotonicNow: Timer.now(), wallNow: CeleryTime.now())
        consumer.adjustClock(state.clock)
        savedChanges = consumer.revokedSet.changes
    }

    /// Saves every `syncInterval` seconds when the revoked set changed.
    func start(timer: Timer, consumer: @escaping () -> Consumer?) {
        entry = timer.callRepeatedly(every: Self.syncInterval) { [unowned self] in
            guard let c = consumer(), c.revokedSet.changes != self.savedChanges else { return }
            self.save(c)
        }
    }

    /// Stops the periodic saves and saves once more (after the consumer
    /// stopped: nothing changes any more).
    func stop(consumer: Consumer?) {
        entry?.cancel()
        entry = nil
        if let consumer { save(consumer) }
    }

    /// Writes the file now; a failure is logged, and tried again at the
    /// next change or at shutdown.
    func save(_ consumer: Consumer) {
        let now = Timer.now()
        consumer.revokedSet.purge(now: now)
        let state = StateFile(revoked: consumer.revokedSet, clock: consumer.forwardClock(),
                              monotonicNow: now, wallNow: CeleryTime.now())
        savedChanges = consumer.revokedSet.changes
        do {
            try state.save(path: path)
            logger.debug("statedb: saved \(state.revoked.count) revoked task ids to \(path)")
        } catch {
            logger.error("statedb: \(error)")
        }
    }
}
