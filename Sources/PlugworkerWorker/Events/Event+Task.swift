import PlugworkerCelery
import PlugworkerCore

/// Task events (§6.4). Each carries `uuid` (the task id) after the common
/// fields, then the type's own fields, matching what a Celery 5.7 worker
/// sends (the `event-task-*.json` captures).
extension Event {
    /// `task-received`, at receipt (before any ETA wait): `name` (the
    /// shadow name when there is one), `args`/`kwargs` (the repr texts),
    /// `root_id`, `parent_id`, `retries`, `eta`, `expires` (ISO-8601 or null).
    public static func taskReceived(_ common: Common, _ m: TaskMessage) -> Event {
        var b = task("task-received", common, id: m.id,
                     capacity: 320 + m.argsrepr.utf8.count + m.kwargsrepr.utf8.count)
        b.add("name", m.displayName)
        b.add("args", m.argsrepr)
        b.add("kwargs", m.kwargsrepr)
        b.add("root_id", orNull: m.rootID)
        b.add("parent_id", orNull: m.parentID)
        b.add("retries", int: m.retries)
        b.add("eta", orNull: isoText(m.etaText, m.eta))
        b.add("expires", orNull: isoText(m.expiresText, m.expires))
        return b.finish()
    }

    /// `task-started`, when execution starts: no fields of its own. (Celery
    /// 5.7 sends the worker's pid in the common `pid`, not the pool
    /// process's.)
    public static func taskStarted(_ common: Common, id: String) -> Event {
        task("task-started", common, id: id).finish()
    }

    /// `task-succeeded`: `result` is the repr text of the return value
    /// (`"5"`, `"'text'"`, `"None"`), `runtime` the run time in seconds.
    public static func taskSucceeded(_ common: Common, id: String, result: String, runtime: Double) -> Event {
        var b = task("task-succeeded", common, id: id, capacity: 256 + result.utf8.count)
        b.add("result", result)
        b.add("runtime", double: runtime)
        return b.finish()
    }

    /// `task-failed`: `exception` is the repr text (`"ValueError('boom')"`),
    /// `traceback` free text. A nil traceback leaves the field out, as Celery
    /// does for an unregistered task (only `exception:
    /// "NotRegistered('name')"`).
    public static func taskFailed(_ common: Common, id: String, exception: String, traceback: String?) -> Event {
        var b = task("task-failed", common, id: id,
                     capacity: 256 + exception.utf8.count + (traceback?.utf8.count ?? 0))
        b.add("exception", exception)
        if let traceback { b.add("traceback", traceback) }
        return b.finish()
    }

    /// `task-retried`: `exception` is the repr of the retry reason,
    /// `traceback` free text.
    public static func taskRetried(_ common: Common, id: String, exception: String, traceback: String) -> Event {
        var b = task("task-retried", common, id: id, capacity: 256 + exception.utf8.count + traceback.utf8.count)
        b.add("exception", exception)
        b.add("traceback", traceback)
        return b.finish()
    }

    /// `task-revoked`: `terminated` (killed while running), `signum` (the
    /// signal then, else null), `expired` (discarded because `expires` passed).
    public static func taskRevoked(_ common: Common, id: String, terminated: Bool, signum: Int32?,
                                   expired: Bool) -> Event {
        var b = task("task-revoked", common, id: id)
        b.add("terminated", bool: terminated)
        b.key("signum")
        if let signum { b.writer.write(int: Int64(signum)) } else { b.writer.writeRaw("null") }
        b.add("expired", bool: expired)
        return b.finish()
    }

    /// `task-rejected`: the message was rejected, `requeue` or not.
    public static func taskRejected(_ common: Common, id: String, requeue: Bool) -> Event {
        var b = task("task-rejected", common, id: id)
        b.add("requeue", bool: requeue)
        return b.finish()
    }

    /// `task-cancelled`: a running task was cancelled because the broker
    /// connection was lost (no fields of its own).
    public static func taskCancelled(_ common: Common, id: String) -> Event {
        task("task-cancelled", common, id: id).finish()
    }

    /// The repr text Celery puts in `exception` for an unregistered task
    /// name: `NotRegistered('tasks.unknown')`.
    public static func notRegisteredRepr(_ name: String) -> String {
        "NotRegistered(" + PythonRepr.string(name) + ")"
    }

    // MARK: Helpers

    static func task(_ type: String, _ common: Common, id: String, capacity: Int = 256) -> Builder {
        var b = Builder(type: type, common, capacity: capacity)
        b.add("uuid", id)
        return b
    }

    /// What Celery's `eta.isoformat()` gives for a message's timestamp: the
    /// text as sent when it already ends in a `±HH:MM` offset (Python keeps
    /// the sender's offset), else the parsed time written as UTC
    /// (`…+00:00`), which is what Python makes of `Z`, a naive time or a
    /// date alone.
    static func isoText(_ text: String?, _ epoch: Double?) -> String? {
        if let text, hasOffsetSuffix(text) { return text }
        if let epoch { return CeleryTime.format(epoch) }
        return text
    }

    /// True when `text` ends in `+HH:MM` or `-HH:MM` after a `T` time.
    static func hasOffsetSuffix(_ text: String) -> Bool {
        let u = text.utf8
        guard u.count >= 16 else { return false }
        let tail = Array(u.suffix(6))
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        return (tail[0] == UInt8(ascii: "+") || tail[0] == UInt8(ascii: "-"))
            && digit(tail[1]) && digit(tail[2]) && tail[3] == UInt8(ascii: ":") && digit(tail[4]) && digit(tail[5])
            && (u.contains(UInt8(ascii: "T")) || u.contains(UInt8(ascii: "t")) || u.contains(UInt8(ascii: " ")))
    }
}
