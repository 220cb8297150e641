/// Per-task options, the counterparts of Celery's `@app.task(...)` options.
/// `nil` means "the worker's default".
public struct TaskOptions: Sendable, Equatable {
    public var rateLimit: RateLimit?
    public var softTimeLimit: Double?
    public var timeLimit: Double?
    public var acksLate: Bool?
    public var ignoreResult: Bool?
    public var trackStarted: Bool?
    public var rejectOnWorkerLost: Bool?
    /// Retries allowed; nil = unlimited. Celery's default is 3.
    public var maxRetries: Int? = 3
    /// Seconds before a retry that names no countdown. Celery's default: 180.
    public var defaultRetryDelay: Double = 180
    public var queue: String?
    /// With acks_late: ack a failed or timed-out task (true, Celery's
    /// default) or reject it without requeue (false: dead-lettered where
    /// the queue has a DLX). nil = the worker's default.
    public var acksOnFailureOrTimeout: Bool?
    /// Exponential backoff for retries that name no countdown (Celery's
    /// `retry_backoff`, `retry_backoff_max`, `retry_jitter`); nil = none.
    public var retryBackoff: RetryBackoff?

    public init() {}

    /// The options as `inspect registered` shows them: only those that are set.
    public var summary: [(String, String)] {
        var out: [(String, String)] = []
        if let rateLimit { out.append(("rate_limit", rateLimit.text)) }
        if let softTimeLimit { out.append(("soft_time_limit", String(softTimeLimit))) }
        if let timeLimit { out.append(("time_limit", String(timeLimit))) }
        if let acksLate { out.append(("acks_late", acksLate ? "True" : "False")) }
        if let ignoreResult { out.append(("ignore_result", ignoreResult ? "True" : "False")) }
        if let trackStarted { out.append(("track_started", trackStarted ? "True" : "False")) }
        if let rejectOnWorkerLost { out.append(("reject_on_worker_lost", rejectOnWorkerLost ? "True" : "False")) }
        if maxRetries != 3 { out.append(("max_retries", maxRetries.map(String.init) ?? "None")) }
        if defaultRetryDelay != 180 { out.append(("default_retry_delay", String(defaultRetryDelay))) }
        if let queue { out.append(("queue", queue)) }
        if let acksOnFailureOrTimeout { out.append(("acks_on_failure_or_timeout", acksOnFailureOrTimeout ? "True" : "False")) }
        if let retryBackoff {
            out.append(("retry_backoff", String(retryBackoff.factor)))
            out.append(("retry_backoff_max", String(retryBackoff.maximum)))
            out.append(("retry_jitter", retryBackoff.jitter ? "True" : "False"))
        }
        return out
    }
}

/// A Celery rate limit: `"10/s"`, `"100/m"`, `"5/h"`, or a bare number of
/// tasks per second.
public struct RateLimit: Sendable, Equatable {
    /// The text as given, e.g. `"10/m"`.
    public var text: String
    /// Tasks allowed per second.
    public var perSecond: Double

    /// Parses a rate string; nil for "" or "0" (no limit).
    /// - Throws: `RateLimitError` for anything else Celery would refuse.
    public init?(parsing text: String) throws(RateLimitError) {
        let trimmed = text.trimmingSpaces
        if trimmed.isEmpty { return nil }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let count = Double(parts[0].trimmingSpaces), count.isFinite, count >= 0 else {
            throw RateLimitError(text: text)
        }
        var seconds = 1.0
        if parts.count == 2 {
            switch parts[1].trimmingSpaces.lowercased().first {
            case "s": seconds = 1
            case "m": seconds = 60
            case "h": seconds = 3600
            default: throw RateLimitError(text: text)
            }
        }
        if count == 0 { return nil }
        self.text = trimmed
        self.perSecond = count / seconds
    }
}

/// A rate limit string that does not parse.
public struct RateLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String { "Invalid rate limit string: '\(text)' (expected N, N/s, N/m or N/h)" }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
