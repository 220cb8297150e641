import PlugworkerBroker
import PlugworkerCore

/// The raw values behind `inspect stats`; `json(clock:)` lays them out as a
/// Python worker does (spec §5.4 and `pidbox-stats.json`):
///
///     {"total": {task: count}, "pid": 15020, "clock": "22", "uptime": 11,
///      "pool": {"implementation", "max-concurrency", "processes",
///               "max-tasks-per-child", "put-guarded-by-semaphore",
///               "timeouts", "writes"},
///      "broker": {"hostname", "userid", "virtual_host", "port", "insist",
///                 "ssl", "transport", "connect_timeout",
///                 "transport_options", "login_method", "uri_prefix",
///                 "heartbeat", "failover_strategy", "alternates",
///                 "credential_provider"},
///      "prefetch_count": 9, "rusage": {…} | "N/A",
///      "autoscaler": {"max", "min", "current", "qty"}   (only when autoscaling)}
///
/// Flower's worker page needs `total` and `broker` as objects.
public struct WorkerStats: Sendable {
    /// Tasks finished since start, by task name.
    public var totals: [(name: String, count: Int)]
    /// The worker (main) process id.
    public var pid: Int
    /// Seconds since the worker started (rounded in the output).
    public var uptime: Double
    /// `pool.implementation`; Python says `celery.concurrency.prefork:TaskPool`.
    public var poolImplementation: String
    /// The pool's size limit (`--concurrency`, or the autoscale maximum).
    public var maxConcurrency: Int
    /// Pids of the pool processes.
    public var processes: [Int]
    /// nil shows as `"N/A"` (no limit), as Python does.
    public var maxTasksPerChild: Int?
    /// The worker-wide soft and hard time limits in seconds (0 = none).
    public var softTimeLimit: Double
    public var hardTimeLimit: Double
    /// The broker the worker is connected to; the password is never shown.
    public var broker: BrokerURL
    /// The negotiated heartbeat in seconds.
    public var brokerHeartbeat: Double
    /// The SASL mechanism used to log in (`PLAIN` with rabbitmq-c).
    public var loginMethod: String
    /// kombu's `broker_connection_timeout` default is 4 s.
    public var connectTimeout: Double
    /// The current basic.qos prefetch count.
    public var prefetchCount: Int
    /// nil shows as `"N/A"`.
    public var rusage: ResourceUsage?
    /// Present only when autoscaling: the limits, the pool size now, and
    /// the tasks reserved (Celery's `Autoscaler.info()`).
    public var autoscaler: (max: Int, min: Int, current: Int, qty: Int)?

    public init(totals: [(name: String, count: Int)] = [], pid: Int, uptime: Double,
                poolImplementation: String = "prefork", maxConcurrency: Int, processes: [Int],
                maxTasksPerChild: Int? = nil, softTimeLimit: Double = 0, hardTimeLimit: Double = 0,
                broker: BrokerURL, brokerHeartbeat: Double, loginMethod: String = "PLAIN", connectTimeout: Double = 4,
                prefetchCount: Int, rusage: ResourceUsage? = ResourceUsage.current(),
                autoscaler: (max: Int, min: Int, current: Int, qty: Int)? = nil) {
        self.totals = totals
        self.pid = pid
        self.uptime = uptime
        self.poolImplementation = poolImplementation
        self.maxConcurrency = maxConcurrency
        self.processes = processes
        self.maxTasksPerChild = maxTasksPerChild
        self.softTimeLimit = softTimeLimit
        self.hardTimeLimit = hardTimeLimit
        self.broker = broker
        self.brokerHeartbeat = brokerHeartbeat
        self.loginMethod = loginMethod
        self.connectTimeout = connectTimeout
        self.prefetchCount = prefetchCount
        self.rusage = rusage
        self.autoscaler = autoscaler
    }

    /// The `stats` payload. `clock` is the node's Lamport clock, which
    /// Python sends as a string.
    public func json(clock: Int) -> JSON {
        var o = JSONObject()
        o["total"] = .object(JSONObject(totals.map { JSONObject.Member($0.name, .int(Int64($0.count))) }))
        o["pid"] = .int(Int64(pid))
        o["clock"] = .string(String(clock))
        o["uptime"] = .int(uptime.isFinite && uptime.magnitude < 9.0e15 ? Int64(uptime.rounded()) : 0)
        o["pool"] = .object(JSONObject([
            .init("implementation", .string(poolImplementation)),
            .init("max-concurrency", .int(Int64(maxConcurrency))),
            .init("processes", .array(processes.map { .int(Int64($0)) })),
            .init("max-tasks-per-child", maxTasksPerChild.map { .int(Int64($0)) } ?? "N/A"),
            .init("put-guarded-by-semaphore", false),
            .init("timeouts", [Self.number(softTimeLimit), Self.number(hardTimeLimit)]),
            .init("writes", .object(JSONObject())),
        ]))
        o["broker"] = brokerJSON
        o["prefetch_count"] = .int(Int64(prefetchCount))
        o["rusage"] = rusage?.json ?? "N/A"
        if let autoscaler {
            o["autoscaler"] = .object(JSONObject([
                .init("max", .int(Int64(autoscaler.max))),
                .init("min", .int(Int64(autoscaler.min))),
                .init("current", .int(Int64(autoscaler.current))),
                .init("qty", .int(Int64(autoscaler.qty))),
            ]))
        }
        return .object(o)
    }

    /// kombu's `Connection.info()`: the URL's pieces without the password.
    public var brokerJSON: JSON {
        .object(JSONObject([
            .init("hostname", .string(broker.host)),
            .init("userid", .string(broker.user)),
            .init("virtual_host", .string(broker.virtualHost)),
            .init("port", .int(Int64(broker.port))),
            .init("insist", false),
            .init("ssl", .bool(broker.isTLS)),
            .init("transport", "amqp"),
            .init("connect_timeout", Self.number(connectTimeout)),
            .init("transport_options", .object(JSONObject())),
            .init("login_method", .string(loginMethod)),
            .init("uri_prefix", .null),
            .init("heartbeat", .double(brokerHeartbeat)),
            .init("failover_strategy", "round-robin"),
            .init("alternates", []),
            .init("credential_provider", .null),
        ]))
    }

    /// Whole numbers as JSON integers (Python's `4`, `0`), others as floats.
    static func number(_ v: Double) -> JSON {
        if v.isFinite, v == v.rounded(), v.magnitude < 9.0e15 { return .int(Int64(v)) }
        return .double(v)
    }
}
