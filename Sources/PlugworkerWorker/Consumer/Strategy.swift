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
    /// The task declares a ctx parameter (and may read the headers).
    let takesContext: Bool
    /// The task's counters and runtime histogram, when the worker serves
    /// metrics (`--metrics-port`); nil otherwise, so recording costs one
    /// nil check.
    var metrics: TaskMetrics?

    /// How many jobs of a short task may wait in a busy pool process's
    /// socket: enough to save most wake-ups, few enough that a task that
    /// turns out slow holds up little.
    static let maxPipelineDepth = 4
    /// Tasks whose average run is below this are pipelined.
    static let shortTask = 0.0005
    /// Moving average of the run time, and how many runs it has seen.
    private(set) var averageRuntime = 0.0
    private(set) var samples = 0

    init(task: NativeTask, options: WorkerOptions) {
        self.task = task
        let o = task.options
        acksLate = o.acksLate ?? options.acksLate
        ignoreResult = o.ignoreResult ?? false
        rejectOnWorkerLost = o.rejectOnWorkerLost ?? options.rejectOnWorkerLost
        trackStarted = o.trackStarted ?? false
        softTimeLimit = o.softTimeLimit
        hardTimeLimit = o.timeLimit
        takesContext = task.signature.parameters.contains { $0.type == .ctx }
    }

    /// Records one run of the task.
    func observe(runtime: Double) {
        samples += 1
        averageRuntime = samples == 1 ? runtime : averageRuntime * 0.9 + runtime * 0.1
    }

    /// Pipelining only for a task known to be short: after 8 runs, while
    /// its moving average stays under `shortTask`.
    var pipelineDepth: Int {
        samples >= 8 && averageRuntime < Self.shortTask ? Self.maxPipelineDepth : 1
    }

    /// Strategies for every registered task.
    static func all(registry: Registry, options: WorkerOptions) -> [String: Strategy] {
        var out: [String: Strategy] = [:]
        for (name, task) in registry.tasks { out[name] = Strategy(task: task, options: options) }
        return out
    }
}
