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
    /// `--reject-on-worker-lost`: with acks_late, a task whose pool process
    /// died is requeued (once: not if it was redelivered) instead of failed,
    /// for every task that does not set the option itself.
    public var rejectOnWorkerLost = false
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

    /// The beat schedule to run in this worker (`-B`); nil without `-B`.
    public var beat: BeatConfig?

    public init() {}

    /// The per-channel prefetch count: concurrency × multiplier (0 = none).
    public var prefetchCount: UInt16 {
        UInt16(clamping: concurrency * prefetchMultiplier)
    }
}
