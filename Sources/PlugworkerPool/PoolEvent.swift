import PlugworkerCore

/// What the pool reports to the Hub from `Pool.handleReadable(fd:)`,
/// `Pool.handleZygoteEvents()` and `Pool.pollEvents(timeout:)`.
public enum PoolEvent: Sendable, Equatable {
    /// A new process has loaded its plugins and can take jobs.
    case processReady(pid: Int32)
    /// The job `seq` finished in process `pid`; `runtime` is the call's
    /// duration in seconds, measured in the process.
    case completed(seq: UInt64, outcome: TaskOutcome, runtime: Double, pid: Int32)
    /// The job `seq` reported progress.
    case progress(seq: UInt64, current: Double, total: Double, pid: Int32)
    /// The process running job `seq` ended before it answered. `exception`
    /// is billiard's `WorkerLostError("Worker exited prematurely: signal 11
    /// (SIGSEGV) Job: 7.")`, ready to store as the task's failure; a Hub that
    /// killed the process itself (hard time limit, terminate) knows better
    /// and may report its own exception instead.
    case lost(seq: UInt64, pid: Int32, exception: TaskException)
    /// Jobs queued to a process that died before it started them: they
    /// did not run, and can go to another process.
    case unstarted(seqs: [UInt64], pid: Int32)
    /// Process `pid` has ended; `description` says how, for the log
    /// (`ForkPoolWorker-3 (pid 4242) exited on signal 9 (SIGKILL) — perhaps
    /// out of memory?`). Already logged by the pool.
    case processExited(pid: Int32, description: String)
    /// Pool processes died too often (see `Pool.maxRestarts`); the pool stops
    /// replacing them and `Pool.healthy` is false. `reason` is the logged
    /// explanation.
    case restartsHalted(reason: String)
}
