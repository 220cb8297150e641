/// One pool process as the master sees it (`Pool.processes`).
public struct PoolProcessInfo: Sendable, Equatable {
    public var pid: Int32
    /// The pool slot it fills (1-based; a replacement takes the dead one's).
    public var index: Int
    /// Its log name, `ForkPoolWorker-<n>`.
    public var name: String
    /// It has sent `.ready` (plugins loaded, `worker_process_init` run).
    public var ready: Bool
    /// The job it is running, if any.
    public var jobSeq: UInt64?
    /// It is leaving: retired by `shrink`/`shutdown`, or killed.
    public var retiring: Bool
    /// Jobs it has completed.
    public var completed: Int
}
