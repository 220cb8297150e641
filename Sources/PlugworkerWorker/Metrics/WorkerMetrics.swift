import CoreMetrics
import Prometheus

/// The worker's metrics, in a Prometheus registry of its own (never the
/// process-wide `MetricsSystem`, so that several workers in one process —
/// tests — do not share counters).
///
/// The handles are swift-metrics types (`Counter`, `Timer`, `Meter`) over
/// Prometheus collectors made with help text; they are made once, and per
/// task name at start (`task(named:)`), so recording is an atomic add or a
/// histogram update, never a lookup or a formatted string. Gauges describe
/// state the worker already keeps (the pool, the prefetch window, the
/// connection) and are read when scraped (`exposition(_:)`), so they cost
/// nothing per message.
///
/// Families (prefix `plugworker_`):
///
/// | name | type | labels |
/// |------|------|--------|
/// | `tasks_total` | counter | `name`, `state` (received, started, succeeded, failed, retried, rejected, revoked) |
/// | `task_runtime_seconds` | histogram | `name` |
/// | `messages_rejected_total` | counter | `reason` (unregistered, invalid) |
/// | `pool_processes`, `pool_processes_busy`, `pool_concurrency` | gauge | |
/// | `prefetch_in_use`, `prefetch_limit` | gauge | |
/// | `broker_connected` | gauge | |
/// | `broker_reconnects_total` | counter | |
/// | `plugin_loads_total`, `plugin_load_failures_total` | counter | |
///
/// Nothing here carries the broker URL: no password can leak through it.
/// Used on the Hub thread only.
public final class WorkerMetrics {
    /// The Prometheus registry every family lives in.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory over `registry`, for code that records its
    /// own metrics with the swift-metrics API (`Counter(label:factory:)`).
    /// Such metrics have no HELP line; their names must not be ours.
    public let factory: PrometheusMetricsFactory

    /// The task states counted in `plugworker_tasks_total`, in Celery's
    /// words (the event a Flower user knows: task-received → received).
    public static let taskStates = ["received", "started", "succeeded", "failed", "retried", "rejected", "revoked"]
    /// Buckets of `plugworker_task_runtime_seconds`: native tasks are often
    /// much faster than Python ones, so they start at 100 µs.
    public static let runtimeBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    /// Why a message was refused before it became a task request.
    public enum Refusal: String, Sendable, CaseIterable {
        /// A task name no plugin registered (Celery's `task-unknown`); the
        /// name itself is not a label, since any client can make up names.
        case unregistered
        /// Not a valid task message (bad body, headers, size, encoding).
        case invalid
    }

    private var tasks: [String: TaskMetrics] = [:]
    private let refusals: [Refusal: CoreMetrics.Counter]
    let reconnects: CoreMetrics.Counter
    let pluginLoads: CoreMetrics.Counter
    let pluginFailures: CoreMetrics.Counter
    let poolProcesses: Meter
    let poolBusy: Meter
    let poolConcurrency: Meter
    let prefetchInUse: Meter
    let prefetchLimit: Meter
    let brokerConnected: Meter

    public init() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
            let d = MetricNameDescriptor(namespace: "plugworker", metricName: name, unitName: "total", helpText: help)
            return CoreMetrics.Counter(label: d.name, dimensions: labels,
                                       handler: registry.makeCounter(descriptor: d, labels: labels), factory: factory)
        }
        func gauge(_ name: String, _ help: String) -> Meter {
            let d = MetricNameDescriptor(namespace: "plugworker", metricName: name, unitName: "", helpText: help)
            return Meter(label: d.name, dimensions: [], handler: registry.makeGauge(descriptor: d), factory: factory)
        }
        var refusals: [Refusal: CoreMetrics.Counter] = [:]
        for r in Refusal.allCases {
            refusals[r] = counter("messages_rejected", "Messages rejected before they became a task request, by reason.",
                                  [("reason", r.rawValue)])
        }
        self.refusals = refusals
        reconnects = counter("broker_reconnects", "Times the broker connection was established again after it was lost.")
        pluginLoads = counter("plugin_loads", "Plugin libraries loaded and registered.")
        pluginFailures = counter("plugin_load_failures", "Plugin libraries refused or failed while loading.")
        poolProcesses = gauge("pool_processes", "Pool processes alive (starting or ready).")
        poolBusy = gauge("pool_processes_busy", "Pool processes running a task.")
        poolConcurrency = gauge("pool_concurrency", "Pool processes wanted (-c, changed by pool_grow/pool_shrink).")
        prefetchInUse = gauge("prefetch_in_use", "Task messages delivered and not yet acknowledged (counted against the prefetch).")
        prefetchLimit = gauge("prefetch_limit", "The prefetch count asked of the broker (0: unlimited).")
        brokerConnected = gauge("broker_connected", "1 while the broker connection is open, 0 while (re)connecting.")
    }

    /// The handles of task `name`, made on first use (the worker makes
    /// them for every registered task at start, so their counters show 0
    /// before the first message; a plugin registered later gets them here).
    public func task(named name: String) -> TaskMetrics {
        if let t = tasks[name] { return t }
        let t = TaskMetrics(name: name, registry: registry, factory: factory)
        tasks[name] = t
        return t
    }

    /// Counts a message refused before it became a request.
    public func messageRejected(_ reason: Refusal) {
        refusals[reason]?.increment()
    }

    /// Counts a plugin library loaded (the initial load, or a hot reload).
    public func pluginLoaded(count: Int = 1) {
        pluginLoads.increment(by: count)
    }

    /// Counts a plugin library that was refused or failed to load.
    public func pluginFailed(count: Int = 1) {
        pluginFailures.increment(by: count)
    }

    /// Counts a broker connection established again after a loss.
    public func brokerReconnected() {
        reconnects.increment()
    }

    /// The state gauges show, read from the worker when scraped.
    public struct Sample: Sendable, Equatable {
        public var poolProcesses: Int
        public var poolBusy: Int
        public var poolConcurrency: Int
        public var prefetchInUse: Int
        public var prefetchLimit: Int
        public var brokerConnected: Bool

        public init(poolProcesses: Int = 0, poolBusy: Int = 0, poolConcurrency: Int = 0, prefetchInUse: Int = 0,
                    prefetchLimit: Int = 0, brokerConnected: Bool = false) {
            self.poolProcesses = poolProcesses
            self.poolBusy = poolBusy
            self.poolConcurrency = poolConcurrency
            self.prefetchInUse = prefetchInUse
            self.prefetchLimit = prefetchLimit
            self.brokerConnected = brokerConnected
        }
    }

    /// The Prometheus text format (version 0.0.4) of every family, with
    /// the gauges set from `sample` first.
    public func exposition(_ sample: Sample) -> [UInt8] {
        poolProcesses.set(sample.poolProcesses)
        poolBusy.set(sample.poolBusy)
        poolConcurrency.set(sample.poolConcurrency)
        prefetchInUse.set(sample.prefetchInUse)
        prefetchLimit.set(sample.prefetchLimit)
        brokerConnected.set(sample.brokerConnected ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(8192)
        registry.emit(into: &out)
        return out
    }
}
