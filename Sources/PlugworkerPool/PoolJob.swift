/// One task call the master hands to a pool process: everything the process
/// needs to build the task's context, call it and send its signals.
///
/// The master fills it from a Celery request; `seq` is the master's own
/// number for the call, unique for the life of the pool, and comes back in
/// the result (and in a `WorkerLostError` if the process dies running it).
public struct PoolJob: Sendable, Equatable {
    /// The master's number for this call; echoed in `.result` and `.progress`.
    public var seq: UInt64
    /// The Celery task id (a UUID).
    public var taskID: String
    /// The registered task name, e.g. `arith.add`.
    public var taskName: String
    /// How many times the task has been retried (`request.retries`).
    public var retries: Int64
    /// The message headers as JSON text, for the task's context.
    public var headersJSON: String
    /// The positional arguments: JSON array text.
    public var args: [UInt8]
    /// The keyword arguments: JSON object text.
    public var kwargs: [UInt8]
    /// Seconds after which the process sets the soft-limit flag the task can
    /// poll; 0 means none.
    public var softTimeLimit: Double
    /// Seconds after which the master kills the process; 0 means none. The
    /// pool process only carries it (the master enforces it).
    public var hardTimeLimit: Double
    /// The worker's node name (`celery@host`), for signal senders.
    public var hostname: String

    public init(seq: UInt64, taskID: String, taskName: String, retries: Int64 = 0, headersJSON: String = "{}",
                args: [UInt8] = Array("[]".utf8), kwargs: [UInt8] = Array("{}".utf8),
                softTimeLimit: Double = 0, hardTimeLimit: Double = 0, hostname: String = "") {
        self.seq = seq
        self.taskID = taskID
        self.taskName = taskName
        self.retries = retries
        self.headersJSON = headersJSON
        self.args = args
        self.kwargs = kwargs
        self.softTimeLimit = softTimeLimit
        self.hardTimeLimit = hardTimeLimit
        self.hostname = hostname
    }

    /// A job whose arguments are given as JSON text.
    public init(seq: UInt64, taskID: String, taskName: String, argsJSON: String, kwargsJSON: String = "{}",
                retries: Int64 = 0, headersJSON: String = "{}", softTimeLimit: Double = 0, hardTimeLimit: Double = 0,
                hostname: String = "") {
        self.init(seq: seq, taskID: taskID, taskName: taskName, retries: retries, headersJSON: headersJSON,
                  args: Array(argsJSON.utf8), kwargs: Array(kwargsJSON.utf8),
                  softTimeLimit: softTimeLimit, hardTimeLimit: hardTimeLimit, hostname: hostname)
    }
}
