/// How to send a task: Celery's `apply_async` options.
///
/// Every field is optional; the defaults are `apply_async`'s. Times are
/// seconds (`Double`); absolute times are Unix epoch seconds.
public struct TaskOptions: Sendable, Equatable {
    /// The task id; a new UUID4 when nil.
    public var taskID: String?
    /// Do not start before this many seconds from now (sets the `eta` header).
    public var countdown: Double?
    /// Do not start before this time (epoch seconds). `countdown` wins.
    public var eta: Double?
    /// Do not run after this many seconds from now (the `expires` header and
    /// the AMQP per-message TTL, as Celery ≥ 5.2 sends them).
    public var expires: Double?
    /// AMQP priority 0–9 (honoured only by queues with `x-max-priority`).
    public var priority: UInt8?
    /// The queue; the client's `defaultQueue` (`celery`) when nil.
    public var queue: String?
    /// Hard time limit in seconds (`timelimit[0]`): the worker kills the task.
    public var timeLimit: Double?
    /// Soft time limit in seconds (`timelimit[1]`).
    public var softTimeLimit: Double?
    /// Tasks to run after success, each with the result put before its args.
    public var link: [Signature] = []
    /// Tasks to run after failure, each with the failed task's id as first arg.
    public var linkError: [Signature] = []
    /// True: the worker publishes no result (`get` would wait in vain).
    public var ignoreResult = false
    /// Display name for logs and events (`shadow`).
    public var shadow: String?
    /// Extra message headers (the task sees them as `request.headers`).
    public var headers = JSONObject()

    public init(taskID: String? = nil, countdown: Double? = nil, eta: Double? = nil, expires: Double? = nil,
                priority: UInt8? = nil, queue: String? = nil, timeLimit: Double? = nil, softTimeLimit: Double? = nil,
                link: [Signature] = [], linkError: [Signature] = [], ignoreResult: Bool = false, shadow: String? = nil,
                headers: JSONObject = JSONObject()) {
        self.taskID = taskID
        self.countdown = countdown
        self.eta = eta
        self.expires = expires
        self.priority = priority
        self.queue = queue
        self.timeLimit = timeLimit
        self.softTimeLimit = softTimeLimit
        self.link = link
        self.linkError = linkError
        self.ignoreResult = ignoreResult
        self.shadow = shadow
        self.headers = headers
    }

    /// The options as a signature's `options` dict (Python's names).
    /// - Parameter now: what `eta` counts from (absolute ETAs become a
    ///   countdown-free `eta` string).
    public func signatureOptions(now: Double = CeleryTime.now()) -> JSONObject {
        var o = JSONObject()
        if let taskID { o["task_id"] = .string(taskID) }
        if let countdown { o["countdown"] = .double(countdown) }
        else if let eta { o["eta"] = .string(CeleryTime.format(eta)) }
        if let expires { o["expires"] = .double(expires) }
        if let priority { o["priority"] = .int(Int64(priority)) }
        if let queue { o["queue"] = .string(queue) }
        if let timeLimit { o["time_limit"] = .double(timeLimit) }
        if let softTimeLimit { o["soft_time_limit"] = .double(softTimeLimit) }
        if !link.isEmpty { o["link"] = .array(link.map(\.json)) }
        if !linkError.isEmpty { o["link_error"] = .array(linkError.map(\.json)) }
        if ignoreResult { o["ignore_result"] = .bool(true) }
        if let shadow { o["shadow"] = .string(shadow) }
        if !headers.members.isEmpty { o["headers"] = .object(headers) }
        return o
    }
}

extension Signature {
    /// A signature for `task` with `args`, `kwargs` and `options` (Python's
    /// `app.signature(task, args, kwargs, **options)`); `immutable` is `.si()`.
    public init(_ task: String, args: [JSON] = [], kwargs: JSONObject = JSONObject(), options: TaskOptions,
                immutable: Bool = false) {
        self.init(task: task, args: args, kwargs: kwargs, options: options.signatureOptions(), immutable: immutable)
    }
}
