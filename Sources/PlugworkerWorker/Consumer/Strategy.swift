import PlugworkerCore

/// What the worker does with messages for one task name, built once at
/// start from the registered task and the worker's options (Celery's
/// `worker/strategy.py`): the effective ack mode, result handling and time
/// limits, so that per message only the request's own headers are read.
final class Strategy {
    let task: NativeTask
    let acksLate: Bool
    let ignoreResult: Bool
    let rejectOnWorkerLost: Bool
    let trackStarted: Bool
    let softTimeLimit: Double?
    let hardTimeLimit: Double?

    init(task: NativeTask, options: WorkerOptions) {
        self.task = task
        let o = task.options
        acksLate = o.acksLate ?? options.acksLate
        ignoreResult = o.ignoreResult ?? false
        rejectOnWorkerLost = o.rejectOnWorkerLost ?? false
        trackStarted = o.trackStarted ?? false
        softTimeLimit = o.softTimeLimit
        hardTimeLimit = o.timeLimit
    }

    /// Strategies for every registered task.
    static func all(registry: Registry, options: WorkerOptions) -> [String: Strategy] {
        var out: [String: Strategy] = [:]
        for (name, task) in registry.tasks { out[name] = Strategy(task: task, options: options) }
        return out
    }
}
