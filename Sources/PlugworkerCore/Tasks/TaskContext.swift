#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem

/// The context of one task call: what `pw_ctx *` points at.
///
/// It carries the request (id, name, retries, headers) and records what the
/// task asks for through the host API: a failure, a retry, progress. It lives
/// for one call; the host refuses context calls for any other than the task
/// running on the calling thread, so a stale pointer kept by a plugin cannot
/// reach freed memory.
public final class TaskContext {
    /// What the task asked for, beside its return value.
    public enum Request: Sendable, Equatable {
        case none
        case fail(TaskException)
        /// Retry after `countdown` seconds (nil: the task's default delay).
        case retry(countdown: Double?, reason: String?)
    }

    public let id: String
    public let taskName: String
    public let retries: Int64
    /// The message headers as JSON text.
    public let headersJSON: String
    // Per-call hot path: one owner, no overlapping access; skip the
    // dynamic exclusivity checks (measured: 4 per call, ~75 instructions each).
    @exclusivity(unchecked) public internal(set) var request: Request = .none
    /// Called for `ctx_progress(current, total)`.
    public var onProgress: ((Double, Double) -> Void)?
    /// Called for `ctx_log(level, message)` with the task-prefixed line.
    public var onLog: ((Int32, String) -> Void)?
    /// True once the soft time limit has passed. Defaults to the
    /// process-wide flag a pool process's timer signal sets.
    public var softTimeLimitExceeded: () -> Bool = { pws_soft_limit_flag() != 0 }

    @exclusivity(unchecked) var cId: UnsafeMutablePointer<CChar>?
    @exclusivity(unchecked) var cName: UnsafeMutablePointer<CChar>?
    @exclusivity(unchecked) var cHeaders: UnsafeMutablePointer<CChar>?

    public init(id: String, taskName: String, retries: Int64 = 0, headersJSON: String = "{}") {
        self.id = id
        self.taskName = taskName
        self.retries = retries
        self.headersJSON = headersJSON
    }

    deinit {
        free(cId)
        free(cName)
        free(cHeaders)
    }

    /// The opaque pointer plugins see.
    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// The context behind `ctx`, if it is the task running on this thread.
    static func running(_ ctx: OpaquePointer?) -> TaskContext? {
        guard let ctx, let current = pws_current_task(), UnsafeMutableRawPointer(ctx) == current else { return nil }
        return Unmanaged<TaskContext>.fromOpaque(current).takeUnretainedValue()
    }

    func cString(_ cache: inout UnsafeMutablePointer<CChar>?, _ value: String) -> UnsafePointer<CChar>? {
        if cache == nil { cache = strdup(value) }
        return UnsafePointer(cache)
    }
}
