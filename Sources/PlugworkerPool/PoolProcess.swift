#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging
import PlugworkerCore

/// A pool process: the child the zygote forks to run tasks.
///
/// Its life, in `run(setup:)`:
///  1. `PR_SET_PDEATHSIG(SIGKILL)`, and exit at once if the zygote is
///     already gone (`getppid()` changed);
///  2. close every inherited descriptor but its socket and 0/1/2;
///  3. signals: SIGINT, SIGQUIT and SIGHUP ignored (the master handles the
///     terminal and takes its children along), SIGTERM default (the master's
///     "terminate"), SIGPIPE ignored (a write to a closed socket fails
///     instead), the crash signals back to their default action so that a
///     crashing task kills the process at once, with its real signal, rather
///     than after the Swift runtime's backtrace (`SWIFT_BACKTRACE=enable=no`
///     is set too, for the record and for anything it runs); all unblocked;
///     SIGALRM and SIGUSR1 set the soft-time-limit flag;
///  4. name itself `ForkPoolWorker-<number>` in log lines;
///  5. `setup()`: load the plugins, here, after the fork;
///  6. send `worker_process_init`, write `.ready(pid)`;
///  7. loop: read a `.task` frame, call the task, write `.result`; with
///     `maxMemoryPerChild`, then check its resident memory and, once over
///     it, write `.recycle` (the master retires it and starts a new one;
///     what is already queued to it still runs here);
///  8. at end of file on the socket (the master closed it: shutdown or
///     retirement), send `worker_process_shutdown` and `_exit(0)`.
/// It never returns, never touches the broker, and leaves with `_exit`, so
/// no atexit handler inherited from the master runs twice (stdio is flushed
/// before every fork, and by the process after each task and before it
/// exits).
public final class PoolProcess {
    /// What a pool process calls tasks with, built by the `setup` closure
    /// given to `Zygote.start(setup:)`, in the pool process, after the fork.
    public struct Runtime {
        /// The plugins' tasks and signal handlers, loaded in this process.
        public var registry: Registry
        /// Where the process logs (its lines say `ForkPoolWorker-N`).
        public var logger: Logger
        /// The node name for `worker_process_init`/`worker_process_shutdown`
        /// senders; jobs carry their own.
        public var hostname: String?
        /// `--max-memory-per-child`, in KiB of resident memory (Celery's
        /// `worker_max_memory_per_child`): checked after each task; nil for
        /// no limit.
        public var maxMemoryPerChild: Int?

        public init(registry: Registry, logger: Logger = Logger(label: "plugworker.pool"), hostname: String? = nil,
                    maxMemoryPerChild: Int? = nil) {
            self.registry = registry
            self.logger = logger
            self.hostname = hostname
            self.maxMemoryPerChild = maxMemoryPerChild
        }
    }

    /// The exit code of a process whose master stream turned corrupt.
    public static let corruptStreamExitCode: Int32 = 3

    let socket: Int32
    let index: Int32
    let number: Int
    let parent: pid_t
    let pid: pid_t
    var reader = FrameReader()

    init(socket: Int32, index: Int32, number: Int, parent: pid_t) {
        self.socket = socket
        self.index = index
        self.number = number
        self.parent = parent
        self.pid = getpid()
    }

    /// The process's main; see the type's documentation.
    func run(setup: () -> Runtime) -> Never {
        _ = pws_set_parent_death_signal(SIGKILL)
        if getppid() != parent { _exit(0) }
        System.closeInheritedDescriptors(keeping: [socket])
        Self.resetSignals()
        setenv("SWIFT_BACKTRACE", "enable=no", 1)
        CeleryLogHandler.processName = "ForkPoolWorker-\(number)"
        _ = pws_install_soft_limit_handler()

        let runtime = setup()
        var hostname = runtime.hostname
        Self.report(runtime.registry.send(.workerProcessInit, SignalPayload(sender: hostname, pid: pid)), .workerProcessInit, runtime.logger)
        guard write(.ready(pid: pid)) else { exitAfterShutdown(runtime, hostname: hostname) }

        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            do {
                while let frame = try reader.next() {
                    guard case .task(let job) = frame else {
                        runtime.logger.warning("pool process got a \(frame.kind) frame from the master; ignored")
                        continue
                    }
                    if !job.hostname.isEmpty { hostname = job.hostname }
                    let (outcome, runtimeSeconds) = execute(job, runtime)
                    fflush(nil) // what the task printed, before the master hears it is done
                    guard write(.result(seq: job.seq, outcome: outcome, runtime: runtimeSeconds)) else {
                        exitAfterShutdown(runtime, hostname: hostname)
                    }
                    if let limit = runtime.maxMemoryPerChild, !recycleAsked {
                        checkMemory(limit: limit, runtime.logger)
                    }
                }
            } catch {
                runtime.logger.error("\(error); exiting")
                _exit(Self.corruptStreamExitCode)
            }
            let n = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                exitAfterShutdown(runtime, hostname: hostname)
            }
        }
    }

    /// Calls one task with its signals; returns the outcome and the seconds
    /// the call took.
    func execute(_ job: PoolJob, _ runtime: Runtime) -> (TaskOutcome, Double) {
        let registry = runtime.registry
        let logger = runtime.logger
        let context = TaskContext(id: job.taskID, taskName: job.taskName, retries: job.retries, headersJSON: job.headersJSON)
        let seq = job.seq
        context.onProgress = { [self] current, total in
            _ = write(.progress(seq: seq, current: current, total: total))
        }
        func payload() -> SignalPayload {
            SignalPayload(sender: job.taskName, pid: pid, taskID: job.taskID, taskName: job.taskName,
                          argsJSON: String(decoding: job.args, as: UTF8.self),
                          kwargsJSON: String(decoding: job.kwargs, as: UTF8.self))
        }
        func send(_ signal: SignalName, _ p: @autoclosure () -> SignalPayload) {
            guard let handlers = registry.signalHandlers[signal], !handlers.isEmpty else { return }
            Self.report(registry.send(signal, p()), signal, logger)
        }

        send(.taskPrerun, payload())
        pws_set_soft_limit_flag(0)
        if job.softTimeLimit > 0 { _ = pws_arm_soft_limit_timer(job.softTimeLimit) }
        let start = System.now()
        let outcome: TaskOutcome
        if let task = registry.task(named: job.taskName) {
            outcome = job.args.withUnsafeBytes { a in
                job.kwargs.withUnsafeBytes { k in task.invoke(args: a, kwargs: k, context: context) }
            }
        } else {
            outcome = .failure(TaskException(type: "NotRegistered", module: "celery.exceptions", message: job.taskName))
        }
        let elapsed = System.now() - start
        if job.softTimeLimit > 0 { _ = pws_arm_soft_limit_timer(0) }
        pws_set_soft_limit_flag(0)
        context.onProgress = nil

        // Celery's order: task_success / task_failure / task_retry, then task_postrun.
        let signal: SignalName
        let state: String
        var result: String?, excType: String?, excMessage: String?
        switch outcome {
        case .success(let json):
            (signal, state) = (.taskSuccess, "SUCCESS")
            result = String(decoding: json, as: UTF8.self)
        case .failure(let e):
            (signal, state) = (.taskFailure, "FAILURE")
            (excType, excMessage) = (e.type, e.message)
        case .retry(_, let reason):
            (signal, state) = (.taskRetry, "RETRY")
            (excType, excMessage) = ("Retry", reason)
        }
        func final(state: String?) -> SignalPayload {
            var p = payload()
            p.resultJSON = result
            p.excType = excType
            p.excMessage = excMessage
            p.state = state
            return p
        }
        send(signal, final(state: nil))
        send(.taskPostrun, final(state: state))
        return (outcome, elapsed)
    }

    /// Asked the master for a replacement already.
    var recycleAsked = false

    /// billiard's check after each task: over `limit` KiB of resident
    /// memory, log as billiard does and ask the master to be replaced.
    func checkMemory(limit: Int, _ logger: Logger) {
        guard let used = Self.residentKiB() else {
            logger.error("worker unable to determine memory usage")
            return
        }
        guard used > limit else { return }
        logger.warning("child process exiting after exceeding memory limit (\(used)KiB / \(limit)KiB)")
        recycleAsked = true
        _ = write(.recycle(reason: "is over --max-memory-per-child (\(used)KiB / \(limit)KiB)"))
    }

    /// Resident memory now, in KiB (`/proc/self/statm`, second field, in
    /// pages); nil if it cannot be read.
    static func residentKiB() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let fields = buffer[0..<n].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    /// Writes a frame to the master; false if it has gone.
    func write(_ frame: PoolFrame) -> Bool {
        System.sendAll(socket, frame.encoded()).errno == 0
    }

    /// End of the stream: `worker_process_shutdown`, then `_exit(0)`.
    func exitAfterShutdown(_ runtime: Runtime, hostname: String?) -> Never {
        Self.report(runtime.registry.send(.workerProcessShutdown, SignalPayload(sender: hostname, pid: pid)),
                    .workerProcessShutdown, runtime.logger)
        fflush(nil) // this process's own output; the zygote flushed before forking it
        _exit(0)
    }

    /// Logs the handlers that returned an error (never fatal).
    static func report(_ failures: [(SignalHandler, Int32)], _ signal: SignalName, _ logger: Logger) {
        for (handler, status) in failures {
            logger.warning("signal handler \(handler.symbol) for \(signal.rawValue) returned \(status)")
        }
    }

    /// The signal setup of step 3 (see the type's documentation).
    static func resetSignals() {
        for sig in [SIGINT, SIGQUIT, SIGHUP, SIGPIPE] { signal(sig, SIG_IGN) }
        for sig in [SIGTERM, SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS] { signal(sig, SIG_DFL) }
        pws_unblock_all_signals()
    }
}
