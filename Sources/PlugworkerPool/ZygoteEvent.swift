/// What the zygote reports to the master (see `Zygote.readEvents()`).
public enum ZygoteEvent: Sendable, Equatable {
    /// A pool process was forked for slot `index`. `fd` is the master's end
    /// of its socket (close-on-exec, blocking); the receiver owns it.
    /// `number` is the zygote's running count of processes it has forked,
    /// for the name `ForkPoolWorker-<number>` the process logs under.
    case spawned(index: Int, pid: Int32, fd: Int32, number: Int)
    /// `fork` (or `socketpair`) failed in the zygote, with `errno`.
    case spawnFailed(index: Int, errno: Int32)
    /// A pool process ended (the zygote reaped it).
    case exited(pid: Int32, status: ProcessExitStatus)
    /// The zygote itself is gone (its socket reached end of file). Its pool
    /// processes die with it (parent-death signal), and no more can be forked.
    case closed
}
