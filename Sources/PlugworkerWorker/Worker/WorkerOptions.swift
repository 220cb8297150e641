import PlugworkerCore
import PlugworkerBeat
import PlugworkerBroker
/// How a worker runs: what `plugworker` (the `worker` command) was told.
/// Names and defaults follow `celery worker`'s options.
public struct WorkerOptions: Sendable {
    /// `amqp://user:pass@host:port/vhost` (`--broker`, `CELERY_BROKER_URL`).
    public var brokerURL = "amqp://guest:guest@localhost:5672//"
    /// `-n`: the node name (`celery@%h`).
    public var nodeName = NodeName()
    /// `-c`: pool processes (default: the number of CPUs).
    public var concurrency = 1
    /// `-Q`: queues to consume (default `celery`).
    public var queues = ["celery"]
    /// `--prefetch-multiplier`: prefetch = concurrency × this (default 4).
    public var prefetchMultiplier = 4
    /// `--acks-late`: acknowledge after the task instead of before.
    public var acksLate = false
    /// `--task-track-started`: publish STARTED for every task (Celery's
    /// `task_track_started`); a task's own `track_started` option wins.
    public var trackStarted = false
    /// TLS for `amqps://` (`--broker-ca`, `--broker-cert`, `--broker-key`,
    /// or the URL's `ssl_*` query parameters).
    public var tls = TLSOptions()
    /// `--max-message-size`: bodies larger than this are rejected (bytes).
    public var maxMessageSize = 16 << 20
    /// AMQP heartbeat, seconds (0 disables).
    public var brokerHeartbeat = 60
    /// `-E`: send task events (monitoring, Flower); `enable_events` too.
    public var sendTaskEvents = false
    /// `--without-heartbeat`: no worker-heartbeat events.
    public var withoutHeartbeat = false
    /// Seconds between worker-heartbeat events (`--heartbeat-interval`).
    public var heartbeatInterval = 2.0
    /// `--statedb FILE`: keep the revoked task ids and the clock in this
    /// file across restarts (the StateDB step); nil: not kept.
    public var statedb: String?
    /// `--without-mingle`: do not ask the other nodes for their revoked
    /// ids and clock at start (the Mingle step, on by default as in Celery).
    public var withoutMingle = false
    /// `--without-gossip`: do not consume the other workers' events (the
    /// Gossip step, on by default as in Celery).
    public var withoutGossip = false
    /// Hot plugins (the Autoreloader step): watch the plugin directories and
    /// load, replace and remove plugins while running (`--no-hot-plugins`
    /// turns it off).
    public var hotPlugins = true
    /// Warm shutdown waits this long for running tasks before killing them.
    public var shutdownTimeout = 60.0
    /// `--metrics-port`: serve `/metrics` (Prometheus) and `/healthz` on
    /// this TCP port; 0 (the default) serves nothing.
    public var metricsPort = 0
    /// `--metrics-host`: the address the endpoint binds (default
    /// 127.0.0.1: this machine only).
    public var metricsHost = "127.0.0.1"

    /// `--eta-limit`: at most this many messages held unacknowledged for
    /// their ETA or countdown, or waiting for a rate-limit token, raise the
    /// prefetch count; past it the worker takes no more than its ordinary
    /// window (see `Consumer.PrefetchWindow`). Bounds the memory a flood of
    /// ETA tasks can take.
    public var etaLimit = 1000
    /// `--no-acks-on-failure-or-timeout`: with acks_late, a failed task is
    /// rejected without requeue (dead-lettered) instead of acknowledged.
    /// Celery's `task_acks_on_failure_or_timeout` (default true).
    public var acksOnFailureOrTimeout = true
    /// `--reject-on-worker-lost`: with acks_late, a task whose pool process
    /// died is requeued once (Celery's `task_reject_on_worker_lost`).
    public var rejectOnWorkerLost = false
    /// `--queue-max-priority`: declare the `-Q` queues with
    /// `x-max-priority` (Celery's `task_queue_max_priority`).
    public var queueMaxPriority: Int?
    /// `--queue-type`: "classic" or "quorum" (Celery's
    /// `task_default_queue_type`); declared as `x-queue-type`.
    public var queueType: String?
    /// `--queue-argument QUEUE:KEY=VALUE`: more declaration arguments per
    /// queue (e.g. `x-dead-letter-exchange`), as the clients' `task_queues`
    /// declare them; without a match the broker refuses the declaration.
    public var queueArguments: [String: JSONObject] = [:]

    /// `--max-tasks-per-child`: a pool process is replaced after this many
    /// tasks (Celery's `worker_max_tasks_per_child`); nil: never.
    public var maxTasksPerChild: Int?
    /// `--max-memory-per-child`: a pool process whose resident memory is
    /// over this many KiB after a task is replaced (Celery's
    /// `worker_max_memory_per_child`); nil: no limit.
    public var maxMemoryPerChild: Int?
    /// `--autoscale max,min`: the pool starts with `min` processes (then
    /// `concurrency` is `min`) and grows to `max` while tasks wait; nil: a
    /// fixed pool of `concurrency`.
    public var autoscale: (max: Int, min: Int)?
    /// `--autoscale-keepalive`: seconds without work before the autoscaler
    /// shrinks the pool (Celery's `AUTOSCALE_KEEPALIVE`, 30).
    public var autoscaleKeepalive = 30.0
    /// `--soft-time-limit` / `--time-limit`: seconds, for tasks whose
    /// message and options give none (Celery's `task_soft_time_limit` /
    /// `task_time_limit`); nil: none.
    public var softTimeLimit: Double?
    public var hardTimeLimit: Double?

    /// The beat schedule to run in this worker (`-B`); nil without `-B`.
    public var beat: BeatConfig?

    public init() {}

    /// The arguments `queue` is declared with: `--queue-argument`s, then
    /// `--queue-max-priority` and `--queue-type` unless given there.
    public func declarationArguments(for queue: String) -> JSONObject {
        var args = queueArguments[queue] ?? JSONObject()
        if let p = queueMaxPriority, args["x-max-priority"] == nil { args["x-max-priority"] = .int(Int64(p)) }
        if let t = queueType, t != "classic", args["x-queue-type"] == nil { args["x-queue-type"] = .string(t) }
        return args
    }

    /// Some consumed queue is a quorum queue: RabbitMQ refuses global QoS on
    /// those, so the prefetch is set per consumer (Celery's
    /// `worker_detect_quorum_queues`, from the declared arguments).
    public var hasQuorumQueues: Bool {
        queues.contains { declarationArguments(for: $0)["x-queue-type"] == .string("quorum") }
    }

    /// The most pool processes: the autoscale maximum, else `concurrency`.
    public var maxConcurrency: Int { autoscale?.max ?? concurrency }

    /// The per-channel prefetch count: the most pool processes × multiplier
    /// (0 = none), as Celery counts it with `--autoscale`.
    public var prefetchCount: UInt16 {
        UInt16(clamping: maxConcurrency * prefetchMultiplier)
    }
}
