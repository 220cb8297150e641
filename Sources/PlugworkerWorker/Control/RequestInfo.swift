import PlugworkerCelery
import PlugworkerCore

/// What `inspect active`, `reserved`, `scheduled` and `query_task` say
/// about one task request (spec §5.4, Python's `Request.info()`):
///
///     {"id": …, "name": …, "args": […], "kwargs": {…}, "type": …,
///      "hostname": "w1@host", "time_start": 1795258971.30 | null,
///      "acknowledged": true,
///      "delivery_info": {"exchange": "", "routing_key": "celery",
///                        "priority": 0, "redelivered": false},
///      "worker_pid": 15025 | null}
public struct RequestInfo: Sendable, Equatable {
    /// The task id.
    public var id: String
    /// The name shown: the message's `shadow` when set, else the task name.
    public var name: String
    /// The real task name (`type`).
    public var type: String
    public var args: [JSON]
    public var kwargs: JSONObject
    /// The message's `argsrepr`; built from `args` when nil.
    public var argsrepr: String?
    /// The message's `kwargsrepr`; built from `kwargs` when nil.
    public var kwargsrepr: String?
    /// The worker's node name.
    public var hostname: String
    /// Epoch seconds the task started, nil until it runs.
    public var timeStart: Double?
    /// Whether the message has been acked.
    public var acknowledged: Bool
    /// The delivery's exchange (`""` for the default exchange).
    public var exchange: String
    public var routingKey: String
    /// The message's priority property (nil shows as null).
    public var priority: Int?
    public var redelivered: Bool
    /// The pool process running it, nil until it runs.
    public var workerPID: Int?

    public init(id: String, name: String, type: String? = nil, args: [JSON] = [], kwargs: JSONObject = JSONObject(),
                argsrepr: String? = nil, kwargsrepr: String? = nil, hostname: String, timeStart: Double? = nil,
                acknowledged: Bool = false, exchange: String = "", routingKey: String = "celery",
                priority: Int? = 0, redelivered: Bool = false, workerPID: Int? = nil) {
        self.id = id
        self.name = name
        self.type = type ?? name
        self.args = args
        self.kwargs = kwargs
        self.argsrepr = argsrepr
        self.kwargsrepr = kwargsrepr
        self.hostname = hostname
        self.timeStart = timeStart
        self.acknowledged = acknowledged
        self.exchange = exchange
        self.routingKey = routingKey
        self.priority = priority
        self.redelivered = redelivered
        self.workerPID = workerPID
    }

    /// The request-info object. With `safe` (Flower's `active(safe=True)`),
    /// `args` and `kwargs` are the repr strings instead of JSON values, so
    /// that values a client cannot decode never travel.
    public func json(safe: Bool = false) -> JSON {
        var o = JSONObject()
        o["id"] = .string(id)
        o["name"] = .string(name)
        if safe {
            o["args"] = .string(argsrepr ?? PythonRepr.argsTuple(args))
            o["kwargs"] = .string(kwargsrepr ?? PythonRepr.kwargsDict(kwargs))
        } else {
            o["args"] = .array(args)
            o["kwargs"] = .object(kwargs)
        }
        o["type"] = .string(type)
        o["hostname"] = .string(hostname)
        o["time_start"] = timeStart.map(JSON.double) ?? .null
        o["acknowledged"] = .bool(acknowledged)
        o["delivery_info"] = .object(JSONObject([
            .init("exchange", .string(exchange)),
            .init("routing_key", .string(routingKey)),
            .init("priority", priority.map { .int(Int64($0)) } ?? .null),
            .init("redelivered", .bool(redelivered)),
        ]))
        o["worker_pid"] = workerPID.map { .int(Int64($0)) } ?? .null
        return .object(o)
    }
}
