import Logging
import PlugworkerBeat
import PlugworkerCelery
import PlugworkerCore

/// Beat as a service on a Hub: the `Scheduler` woken by the Hub's Timer at
/// the next entry's due time (no polling), each due entry sent as a
/// protocol-2 task message, the state file written after each send.
///
/// It runs inside `plugworker beat` (a Hub of its own) and inside a worker
/// started with `-B` (the worker's Hub, sending through the worker's broker
/// connection). Either way one lock per schedule keeps a second beat out.
public final class BeatService {
    /// Publishes a task message to a queue (declared as Python clients
    /// declare it); false when it cannot be sent now (the broker is away),
    /// and the entry is tried again after `Scheduler.retryDelay`.
    public typealias Send = (_ message: TaskMessageEncoder, _ queue: String) -> Bool

    public private(set) var config: BeatConfig
    public private(set) var scheduler: Scheduler!
    let hub: Hub
    let logger: Logger
    let send: Send
    let origin: String
    private var lock: BeatLock?
    private var wakeUp: Timer.Entry?

    /// - Parameters:
    ///   - origin: the sender's name for the messages' `origin` header.
    public init(config: BeatConfig, hub: Hub, logger: Logger, origin: String, send: @escaping Send) {
        self.config = config
        self.hub = hub
        self.logger = logger
        self.origin = origin
        self.send = send
    }

    /// Takes the schedule's lock, reads the state and arms the first wake-up.
    /// - Throws: `BeatError` `.locked` when another beat runs this schedule.
    public func start() throws(BeatError) {
        lock = try BeatLock(statePath: config.statePath)
        let (state, warning) = BeatState.load(path: config.statePath)
        if let warning { logger.warning("beat: \(warning)") }
        scheduler = Scheduler(config: config, state: state, now: CeleryTime.now())
        save()
        logger.info("beat: Starting... \(config.entries.count) entr\(config.entries.count == 1 ? "y" : "ies"), time zone \(config.zone.name), state \(config.statePath)")
        for (entry, next) in scheduler.listing {
            logger.debug("beat: \(entry.name) (\(entry.task)) \(entry.schedule), next \(next.map(CeleryTime.format) ?? "never")")
        }
        arm()
    }

    /// Writes the state and releases the lock.
    public func stop() {
        wakeUp?.cancel()
        wakeUp = nil
        if scheduler != nil { save() }
        lock?.release()
        lock = nil
    }

    /// Reads the config file again (HUP, or the file changed): entries are
    /// added and removed without a restart. A file that no longer parses
    /// is logged and the running schedule is kept.
    public func reload() {
        guard let path = config.path else { return }
        let fresh: BeatConfig
        do {
            fresh = try BeatConfig.load(path: path, statePath: config.statePath)
        } catch {
            logger.error("beat: schedule not reloaded, keeping the current one: \(error)")
            return
        }
        guard fresh != config else { return }
        let before = Set(config.entries.map(\.name)), after = Set(fresh.entries.map(\.name))
        config = fresh
        scheduler.reload(fresh, now: CeleryTime.now())
        save()
        let added = after.subtracting(before).sorted(), removed = before.subtracting(after).sorted()
        let changes = (added.isEmpty ? "" : ", added " + added.joined(separator: ", "))
            + (removed.isEmpty ? "" : ", removed " + removed.joined(separator: ", "))
        logger.info("beat: schedule reloaded from \(path): \(fresh.entries.count) entries\(changes)")
        arm()
    }

    /// The task message of an entry, as `apply_async` would build it.
    public func message(for entry: BeatEntry, now: Double) -> TaskMessageEncoder {
        var m = TaskMessageEncoder(taskName: entry.task, id: UUID4.make(),
                                   args: JSON.array(entry.args).serializedBytes,
                                   kwargs: JSON.object(entry.kwargs).serializedBytes)
        m.expires = entry.expires.map { now + $0 }
        m.priority = entry.priority ?? 0
        m.origin = origin
        return m
    }

    private func tick() {
        let now = CeleryTime.now()
        let sent = scheduler.tick(now: now) { entry in
            let message = message(for: entry, now: now)
            guard send(message, entry.queue) else {
                logger.warning("beat: could not send \(entry.name) (\(entry.task)) now; trying again in \(scheduler.retryDelay)s")
                return false
            }
            logger.info("Scheduler: Sending due task \(entry.name) (\(entry.task)) [\(message.id)]")
            return true
        }
        if !sent.isEmpty { save() }
        arm()
    }

    private func arm() {
        wakeUp?.cancel()
        guard let due = scheduler.nextDue else {
            wakeUp = nil
            return
        }
        wakeUp = hub.timer.call(after: max(0, due - CeleryTime.now())) { [weak self] in self?.tick() }
    }

    private func save() {
        do {
            try scheduler.state.save(path: config.statePath)
        } catch {
            logger.error("beat: \(error)")
        }
    }
}
