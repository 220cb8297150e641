import PlugworkerCore

/// The start-up banner, laid out like Celery's: the node, the broker
/// (password masked), concurrency, queues and the registered tasks.
struct Banner {
    let options: WorkerOptions
    let registry: Registry
    let brokerURL: String

    var text: String {
        var lines: [String] = []
        lines.append(" -------------- \(options.nodeName) v0.1.0 (plugworker)")
        lines.append("--- ***** ----- ")
        lines.append("[config]")
        lines.append(".> transport:   \(brokerURL)")
        lines.append(".> results:     rpc://")
        // Celery's: "{min=1, max=4}" with --autoscale.
        let concurrency = options.autoscale.map { "{min=\($0.min), max=\($0.max)}" } ?? "\(options.concurrency)"
        lines.append(".> concurrency: \(concurrency) (prefork)")
        lines.append(".> prefetch:    \(options.prefetchCount) (\(options.maxConcurrency) × \(options.prefetchMultiplier))")
        lines.append(".> acks:        \(options.acksLate ? "late" : "early (per-task acks_late honoured)")\(options.rejectOnWorkerLost ? ", reject_on_worker_lost" : "")")
        lines.append("")
        lines.append("[queues]")
        for q in options.queues { lines.append(".> \(q.padding(16)) exchange=\(q)(direct) key=\(q)") }
        lines.append("")
        lines.append("[plugins]")
        for m in registry.modules {
            lines.append(".> \(m.name.padding(16)) \(m.version ?? "-") \(m.kind == .plugin ? "ABI \(m.abiText)" : "library")  \(m.sourcePath)")
        }
        for f in registry.failures { lines.append(".> REFUSED \(f.path): \(f.error.code) \(f.error.message)") }
        lines.append("")
        lines.append("[tasks]")
        for name in registry.taskNames { lines.append("  . \(name)") }
        lines.append("")
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
