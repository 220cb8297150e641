import PlugworkerBroker
import PlugworkerCore

/// Builds a protocol-2 task message the way a Python client does (§1.2–1.4
/// of the wire notes): every header of the table present, null where there
/// is no value, in the order Celery writes them; `correlation_id` = id;
/// delivery mode 2; JSON in UTF-8; body `[args, kwargs, embed]`.
///
/// Set the fields, then call `encode()`. Used by `plugworker call`, by
/// retries (`retry(of:countdown:)`), callbacks and chain steps. Publish the
/// result to the default exchange with routing key = the queue name.
public struct TaskMessageEncoder: Sendable, Equatable {
    /// The registered task name (header `task`).
    public var taskName: String
    /// The task id (header `id`, property `correlation_id`).
    public var id: String
    /// The args array as JSON text, written as is (the caller vouches for
    /// its syntax).
    public var args: [UInt8]
    /// The kwargs object as JSON text, written as is.
    public var kwargs: [UInt8]
    /// The rpc result queue (`reply_to`); Python sends `""` when there is none.
    public var replyTo: String?
    /// The `correlation_id` property; the task id when nil.
    public var correlationID: String?
    /// Absolute ETA, epoch seconds.
    public var eta: Double?
    /// Seconds from `now` to the ETA; wins over `eta`.
    public var countdown: Double?
    /// Absolute expiry, epoch seconds. Also sets the AMQP `expiration`
    /// (milliseconds left, at least 0), as Celery ≥ 5.2 does.
    public var expires: Double?
    /// How many times the task was already retried.
    public var retries: Int = 0
    /// The task that publishes this one.
    public var parentID: String?
    /// The first task of the workflow; the task id when nil.
    public var rootID: String?
    /// The group this task belongs to, and its position in it.
    public var group: String?
    public var groupIndex: Int?
    /// Display name for logs and events.
    public var shadow: String?
    /// `[hard, soft]` time limits.
    public var timeLimit = TaskMessage.TimeLimit()
    /// `ignore_result`: false by default, as `apply_async` sends it.
    public var ignoreResult: Bool? = false
    /// The sender's node name (`origin`).
    public var origin: String?
    /// Python reprs of args and kwargs; built from the JSON when nil.
    public var argsrepr: String?
    public var kwargsrepr: String?
    /// AMQP priority, 0–9 (255 allowed by AMQP; RabbitMQ caps it).
    public var priority: UInt8 = 0
    /// `replaced_task_nesting`.
    public var replacedTaskNesting: Int = 0
    /// `stamped_headers` and `stamps`.
    public var stampedHeaders: [String]?
    public var stamps = JSONObject()
    /// User headers, merged into the table after the standard ones (a
    /// standard name here replaces the standard value).
    public var extraHeaders = JSONObject()
    /// Callbacks, errbacks, chain and chord; empty lists are sent as null.
    public var embed = TaskMessage.Embed()
    /// 2 (persistent) as `task_default_delivery_mode`.
    public var deliveryMode: UInt8 = 2
    /// Compress the body with zlib (header `compression:
    /// application/x-gzip`), as `compression='zlib'` does.
    public var compress = false

    /// A message for `taskName` with `args` (a JSON array) and `kwargs` (a
    /// JSON object); everything else at the defaults of `apply_async`.
    public init(taskName: String, id: String, args: [UInt8] = Array("[]".utf8), kwargs: [UInt8] = Array("{}".utf8)) {
        self.taskName = taskName
        self.id = id
        self.args = args
        self.kwargs = kwargs
    }

    /// The headers every Python client sends, and what the encoder writes.
    public static let standardHeaders: [String] = [
        "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit",
        "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result",
        "replaced_task_nesting", "stamped_headers", "stamps",
    ]

    /// Encodes the message.
    /// - Parameter now: the time `countdown` and `expiration` count from.
    /// - Returns: the AMQP properties (headers included) and the body.
    public func encode(now: Double = CeleryTime.now()) -> (properties: MessageProperties, body: [UInt8]) {
        var w = JSONWriter(capacity: args.count + kwargs.count + 96)
        w.writeRaw("[")
        w.writeRaw(bytes: args)
        w.writeRaw(", ")
        w.writeRaw(bytes: kwargs)
        w.writeRaw(", ")
        TaskMessageDecoder.writeEmbed(embed, into: &w)
        w.writeRaw("]")
        var body = w.bytes

        let etaTime = countdown.map { now + $0 } ?? eta
        func optional(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        func limit(_ d: Double?) -> JSON {
            guard let d else { return .null }
            if let i = Int64(exactly: d) { return .int(i) }
            return .double(d)
        }
        var headers = JSONObject()
        headers.members.reserveCapacity(20 + extraHeaders.count)
        headers.members.append(contentsOf: [
            .init("lang", "py"),
            .init("task", .string(taskName)),
            .init("id", .string(id)),
            .init("shadow", optional(shadow)),
            .init("eta", optional(etaTime.map(CeleryTime.format))),
            .init("expires", optional(expires.map(CeleryTime.format))),
            .init("group", optional(group)),
            .init("group_index", groupIndex.map { .int(Int64($0)) } ?? .null),
            .init("retries", .int(Int64(retries))),
            .init("timelimit", .array([limit(timeLimit.hard), limit(timeLimit.soft)])),
            .init("root_id", .string(rootID ?? id)),
            .init("parent_id", optional(parentID)),
            .init("argsrepr", .string(argsrepr ?? Self.repr(args, tuple: true))),
            .init("kwargsrepr", .string(kwargsrepr ?? Self.repr(kwargs, tuple: false))),
            .init("origin", optional(origin)),
            .init("ignore_result", ignoreResult.map { .bool($0) } ?? .null),
            .init("replaced_task_nesting", .int(Int64(replacedTaskNesting))),
            .init("stamped_headers", stampedHeaders.map { .array($0.map { .string($0) }) } ?? .null),
            .init("stamps", .object(stamps)),
        ])
        for m in extraHeaders.members { headers[m.key] = m.value }
        if compress {
            body = Zlib.deflate(body)
            headers["compression"] = "application/x-gzip"
        }

        var expiration: String? = nil
        if let expires {
            let ms = (expires - now) * 1000
            expiration = String(ms.isFinite && ms > 0 ? Int64(min(ms, 9.0e15)) : 0)
        }
        let properties = MessageProperties(
            contentType: "application/json", contentEncoding: "utf-8", headers: headers,
            deliveryMode: deliveryMode, priority: priority, correlationID: correlationID ?? id,
            replyTo: replyTo ?? "", expiration: expiration)
        return (properties, body)
    }

    /// The re-publish of `request` for a retry (§3.1): same id, args,
    /// kwargs, reply_to, root, group, expires, time limits, shadow, origin,
    /// user headers, embed and priority; `retries` + 1; `eta` = now +
    /// `countdown`; `parent_id` = the task's own id.
    public static func retry(of request: TaskMessage, countdown: Double) -> TaskMessageEncoder {
        var e = TaskMessageEncoder(taskName: request.taskName, id: request.id,
                                   args: Array(request.argsJSON), kwargs: Array(request.kwargsJSON))
        e.replyTo = request.replyTo
        e.correlationID = request.correlationID
        e.countdown = countdown
        e.expires = request.expires
        e.retries = request.retries + 1
        e.parentID = request.id
        e.rootID = request.rootID
        e.group = request.group
        e.groupIndex = request.groupIndex
        e.shadow = request.shadow
        e.timeLimit = request.timeLimit
        e.ignoreResult = request.ignoreResult
        e.origin = request.origin
        e.argsrepr = request.argsrepr
        e.kwargsrepr = request.kwargsrepr
        e.priority = request.priority ?? 0
        e.replacedTaskNesting = request.replacedTaskNesting
        e.stampedHeaders = request.stampedHeaders
        e.stamps = request.stamps
        e.embed = request.embed
        let known = Set(standardHeaders + ["meth", "compression", "utc", "taskset"])
        e.extraHeaders = JSONObject(request.headers.members.filter { !known.contains($0.key) })
        return e
    }

    static func repr(_ json: [UInt8], tuple: Bool) -> String {
        guard let value = try? JSON.parse(json) else { return String(decoding: json, as: UTF8.self) }
        switch value {
        case .array(let a) where tuple: return PythonRepr.argsTuple(a)
        case .object(let o) where !tuple: return PythonRepr.kwargsDict(o)
        default: return PythonRepr.repr(value, maxLength: PythonRepr.defaultMaxLength)
        }
    }
}
