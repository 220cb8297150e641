import PlugworkerCore

extension Consumer {
    /// Brings the strategies in line with the registry after hot plugins
    /// added, replaced or removed a module: a task whose `NativeTask` is
    /// unchanged keeps its strategy (and its runtime statistics); a replaced
    /// one gets a new strategy; a removed one loses it, so its next message
    /// takes the unknown-task path (NotRegistered, rejected). Requests
    /// already received keep the strategy they were built with.
    func refreshStrategies() {
        var next: [String: Strategy] = [:]
        for (name, task) in registry.tasks {
            if let s = strategies[name], s.task === task {
                next[name] = s
            } else {
                let strategy = Strategy(task: task, options: options)
                strategy.metrics = metrics?.task(named: name)
                next[name] = strategy
                // A new build's rate limit replaces the old one's.
                buckets[name] = strategy.rateLimit.map { TokenBucket(fillRate: $0.perSecond, now: Timer.now()) }
            }
        }
        for name in strategies.keys where next[name] == nil { buckets[name] = nil }
        strategies = next
    }
}
