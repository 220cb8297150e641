import CoreMetrics
import Prometheus

/// One task name's handles: a counter per state and the runtime histogram.
public final class TaskMetrics {
    public let received: CoreMetrics.Counter
    public let started: CoreMetrics.Counter
    public let succeeded: CoreMetrics.Counter
    public let failed: CoreMetrics.Counter
    public let retried: CoreMetrics.Counter
    public let rejected: CoreMetrics.Counter
    public let revoked: CoreMetrics.Counter
    /// `plugworker_task_runtime_seconds{name=…}`: every run that finished
    /// in a pool process (succeeded, failed or asked for a retry).
    public let runtime: CoreMetrics.Timer

    init(name: String, registry: PrometheusCollectorRegistry, factory: PrometheusMetricsFactory) {
        let tasks = MetricNameDescriptor(namespace: "plugworker", metricName: "tasks", unitName: "total",
                                         helpText: "Tasks by name and state (as the task events say: received, started, succeeded, failed, retried, rejected, revoked).")
        func counter(_ state: String) -> CoreMetrics.Counter {
            let labels = [("name", name), ("state", state)]
            return CoreMetrics.Counter(label: tasks.name, dimensions: labels,
                                       handler: registry.makeCounter(descriptor: tasks, labels: labels), factory: factory)
        }
        received = counter("received")
        started = counter("started")
        succeeded = counter("succeeded")
        failed = counter("failed")
        retried = counter("retried")
        rejected = counter("rejected")
        revoked = counter("revoked")
        let d = MetricNameDescriptor(namespace: "plugworker", metricName: "task_runtime", unitName: "seconds",
                                     helpText: "Run time of tasks in the pool processes, by task name.")
        let labels = [("name", name)]
        runtime = CoreMetrics.Timer(label: d.name, dimensions: labels,
                                    handler: registry.makeDurationHistogram(descriptor: d, labels: labels,
                                                                            buckets: WorkerMetrics.runtimeBuckets),
                                    factory: factory)
    }
}
