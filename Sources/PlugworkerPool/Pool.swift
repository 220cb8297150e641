#if canImport(Glibc)
import Glibc
#endif
import Logging
import PlugworkerCore

/// The prefork pool, master side: a set of pool processes forked by the
/// zygote, each connected to the master by a socket, driven by the Hub.
///
/// It never blocks and has no thread of its own. The Hub:
///  - registers `zygote.controlSocket` for reading, and each process socket
///    as the pool announces it through `onRegister` (and forgets it on
///    `onUnregister`, called just before the pool closes it);
///  - calls `handleZygoteEvents()` when the control socket is readable and
///    `handleReadable(fd:)` when a process socket is, and acts on the
///    `PoolEvent`s they return;
///  - calls `dispatch(_:)` with jobs while `idleCount > 0`.
/// Callers without a Hub (`plugworker apply --isolated`, tests, the last
/// phase of shutdown) use `pollEvents(timeout:)` and `waitUntilStopped(timeout:)`.
///
/// Writes: a process socket is blocking, and a job is written whole with
/// one blocking `send` (`MSG_NOSIGNAL`), bounded by a 5 s send timeout. That
/// is safe because a job goes only to an idle process, which is blocked
/// reading its socket, and it keeps the Hub free of write-readiness
/// bookkeeping. Reads use `MSG_DONTWAIT` and whatever arrives (half a frame,
/// several frames) goes through the process's `FrameReader`.
///
/// Dead processes (the zygote reports each exit) are replaced. A process
/// the master did not ask to leave counts as a crash; more than
/// `maxRestarts` crashes within `restartWindow` seconds stop the
/// replacements (a plugin whose init crashes would otherwise fork
/// processes in a tight loop): the pool logs why, reports
/// `.restartsHalted`, sets `healthy` to false and carries on with the
/// processes it still has, until `resumeRestarts()`.
public final class Pool {
    /// The master's record of one process.
    final class Member {
        let pid: Int32
        let index: Int
        let number: Int
        var fd: Int32
        var reader = FrameReader()
        var ready = false
        /// Jobs sent to it, in order: the first is running (or about to),
        /// the others wait in its socket (pipelining, see `dispatch`).
        var jobs: [PoolJob] = []
        /// The job it is running.
        var job: PoolJob? { jobs.first }
        /// Frames dispatched but not yet written (see `flushDeferred`).
        var outbox: [UInt8] = []
        var retiring = false
        /// The signal `kill(pid:signal:)` sent, so that dying of it counts
        /// as asked for, not as a crash.
        var killedBy: Int32?
        /// Appended to the exit description (why the master killed it).
        var note: String?
        /// Killed for misbehaving (a corrupt frame, a socket that failed):
        /// counts as a crash even though the master sent the signal.
        var faulted = false
        var lastUsed: UInt64 = 0
        var completed = 0
        /// Jobs ever sent to it (for `maxTasksPerChild`).
        var assigned = 0

        init(pid: Int32, index: Int, number: Int, fd: Int32) {
            self.pid = pid
            self.index = index
            self.number = number
            self.fd = fd
        }

        var name: String { "ForkPoolWorker-\(number)" }
    }

    enum Stop { case warm, cold }

    /// The fork server the processes come from.
    public let zygote: Zygote
    /// How many processes the pool keeps (changed by `grow`/`shrink`).
    public private(set) var concurrency: Int
    /// Crashes tolerated within `restartWindow` before replacements stop.
    public var maxRestarts: Int
    /// The window, in seconds, over which crashes are counted.
    public var restartWindow: Double
    public var logger: Logger
    /// Called with each new process socket, for the Hub to add to epoll
    /// (for reading). Set it before `start()`.
    public var onRegister: (Int32) -> Void = { _ in }
    /// Called with a process socket just before the pool closes it, and
    /// with `zygote.controlSocket` when the zygote has gone (the pool then
    /// stops the `Zygote`, which closes that socket).
    public var onUnregister: (Int32) -> Void = { _ in }
    /// False once replacements have stopped (too many crashes, or the
    /// zygote has gone). The worker keeps running with fewer processes.
    public private(set) var healthy = true
    /// Why the pool is not healthy.
    public private(set) var haltReason: String?
    /// `--max-tasks-per-child`: a process that has been sent this many jobs
    /// takes no more, and is replaced once it has finished them (nil: no
    /// limit). Celery's `worker_max_tasks_per_child`.
    public var maxTasksPerChild: Int?

    var members: [Int32: Member] = [:]
    var byFd: [Int32: Member] = [:]
    /// Spawns requested and not yet reported, by slot index; true when
    /// cancelled (the process is retired as soon as it arrives).
    var pending: [Int: Bool] = [:]
    /// Crash times (monotonic), and whether the process was not ready yet.
    var crashes: [(time: Double, beforeReady: Bool)] = []
    var stopping: Stop?
    var useCounter: UInt64 = 0
    var readBuffer = [UInt8](repeating: 0, count: 65536)

    /// The default cap on crashes per window: `concurrency * 2 + 5`.
    public static func defaultMaxRestarts(concurrency: Int) -> Int { concurrency * 2 + 5 }

    /// - Parameters:
    ///   - zygote: started with `Zygote.start(setup:)`.
    ///   - concurrency: how many processes to keep (`-c`).
    ///   - maxRestarts: crashes tolerated per window; nil for
    ///     `defaultMaxRestarts(concurrency:)`.
    ///   - restartWindow: seconds.
    public init(zygote: Zygote, concurrency: Int, maxRestarts: Int? = nil, restartWindow: Double = 60,
                logger: Logger = Logger(label: "plugworker.pool")) {
        self.zygote = zygote
        self.concurrency = max(0, concurrency)
        self.maxRestarts = maxRestarts ?? Self.defaultMaxRestarts(concurrency: concurrency)
        self.restartWindow = restartWindow
        self.logger = logger
    }

    deinit {
        for fd in byFd.keys { close(fd) }
    }

    // MARK: State

    /// Processes that are ready and have no job.
    public var idleCount: Int { members.values.reduce(0) { $0 + (isIdle($1) ? 1 : 0) } }
    /// Processes running a job.
    public var busyCount: Int { members.values.reduce(0) { $0 + ($1.job != nil ? 1 : 0) } }
    /// Jobs sent to processes and not finished (running or queued).
    public var outstandingJobs: Int { members.values.reduce(0) { $0 + $1.jobs.count } }
    /// Every process the pool knows of (alive, or exited but not yet reported).
    public var processes: [PoolProcessInfo] {
        members.values.sorted { $0.index < $1.index || ($0.index == $1.index && $0.pid < $1.pid) }.map {
            PoolProcessInfo(pid: $0.pid, index: $0.index, name: $0.name, ready: $0.ready, jobSeq: $0.job?.seq,
                            retiring: $0.retiring, completed: $0.completed)
        }
    }
    /// The process running job `seq` (for the Hub's time limits).
    public func process(running seq: UInt64) -> PoolProcessInfo? {
        processes.first { $0.jobSeq == seq }
    }
    /// Process sockets currently open (registered through `onRegister`).
    public var descriptors: [Int32] { Array(byFd.keys) }
    /// True after `shutdown` once every process has exited.
    public var isStopped: Bool { stopping != nil && members.isEmpty && pending.isEmpty }

    func isIdle(_ m: Member) -> Bool { m.ready && m.job == nil && !m.retiring && m.fd >= 0 && hasQuota(m) }

    /// It may be sent one more job under `maxTasksPerChild`.
    func hasQuota(_ m: Member) -> Bool { maxTasksPerChild.map { m.assigned < $0 } ?? true }

    /// Processes that count towards `concurrency`: alive and not leaving, or
    /// requested.
    var activeCount: Int {
        members.values.reduce(0) { $0 + ($1.retiring ? 0 : 1) } + pending.values.reduce(0) { $0 + ($1 ? 0 : 1) }
    }

    // MARK: Starting and replacing

    /// Requests `concurrency` processes. Each arrives as a socket through
    /// `onRegister` (from `handleZygoteEvents()`) and reports
    /// `.processReady` once it has loaded its plugins.
    public func start() {
        fillSlots()
    }

    /// Adds `n` processes.
    public func grow(_ n: Int = 1) {
        concurrency += max(0, n)
        fillSlots()
    }

    /// Removes `n` processes (down to 0): requests not yet served first,
    /// then idle processes, then those still starting, then busy ones, which
    /// finish their job first. A retired process exits when it reads end of
    /// file on its socket.
    public func shrink(_ n: Int = 1) {
        concurrency = max(0, concurrency - max(0, n))
        var excess = activeCount - concurrency
        for (index, cancelled) in pending where !cancelled && excess > 0 {
            pending[index] = true
            excess -= 1
        }
        func rank(_ m: Member) -> Int { isIdle(m) ? 0 : (m.job == nil ? 1 : 2) }
        let candidates = members.values.filter { !$0.retiring }.sorted {
            rank($0) != rank($1) ? rank($0) < rank($1) : $0.index > $1.index
        }
        for m in candidates where excess > 0 {
            retire(m)
            excess -= 1
        }
    }

    /// Replaces every process with a new one, without losing or repeating a
    /// job: each current process is retired (it gets no new job, finishes
    /// the jobs already sent to it, including those queued in its socket,
    /// then reads end of file and exits) and spawns already requested are
    /// cancelled; new processes are requested at once, so they are forked
    /// with the zygote's current plugin set (send `Zygote.setPluginFiles`
    /// first). Retired processes do not count towards `concurrency`, so for
    /// a while the pool has up to twice as many. Also lifts a halt after
    /// too many crashes (the new plugins may have fixed them). Used for hot
    /// plugins, and what a HUP reload does (Celery's `pool_restart`).
    /// - Returns: how many processes were retired.
    @discardableResult
    public func recycle() -> Int {
        guard stopping == nil else { return 0 }
        for index in pending.keys { pending[index] = true }
        var retired = 0
        for m in members.values where !m.retiring {
            retire(m)
            retired += 1
        }
        if zygote.controlSocket >= 0, !zygote.isClosed {
            crashes.removeAll()
            healthy = true
            haltReason = nil
        }
        fillSlots()
        return retired
    }

    /// Lets the pool replace processes again after it stopped (after a
    /// reload, or once the crashing plugin has been fixed), and refills it.
    public func resumeRestarts() {
        guard zygote.controlSocket >= 0, !zygote.isClosed else { return }
        crashes.removeAll()
        healthy = true
        haltReason = nil
        fillSlots()
    }

    /// Requests processes until `concurrency` are alive or on their way.
    func fillSlots() {
        guard stopping == nil, healthy, zygote.controlSocket >= 0, !zygote.isClosed else { return }
        while activeCount < concurrency {
            var used = Set(pending.keys)
            for m in members.values where !m.retiring { used.insert(m.index) }
            var index = 1
            while used.contains(index) { index += 1 }
            pending[index] = false
            if !zygote.requestSpawn(index: index) {
                pending[index] = nil
                return // the zygote has gone; its `.closed` event follows
            }
        }
    }

    // MARK: Events

    /// Reads the zygote's reports: new processes (announced through
    /// `onRegister`), exits (with `.lost` for the job a dead process was
    /// running, then `.processExited`), and replaces the dead.
    public func handleZygoteEvents() -> [PoolEvent] {
        var events: [PoolEvent] = []
        for event in zygote.readEvents() {
            switch event {
            case .spawned(let index, let pid, let fd, let number):
                let cancelled = pending.removeValue(forKey: index) ?? true
                let m = Member(pid: pid, index: index, number: number, fd: fd)
                members[pid] = m
                byFd[fd] = m
                System.setSendTimeout(fd, seconds: 5)
                onRegister(fd)
                logger.debug("started \(m.name) (pid \(pid)) for slot \(index)")
                if stopping == .cold {
                    kill(pid: pid, signal: SIGKILL)
                } else if stopping == .warm || cancelled {
                    retire(m)
                }
            case .spawnFailed(let index, let error):
                pending[index] = nil
                logger.error("cannot start a pool process: \(System.errorText(error))")
                crashes.append((System.now(), true))
                events += replace()
            case .exited(let pid, let status):
                guard let m = members[pid] else { continue }
                events += died(m, status: status)
            case .closed:
                events += zygoteGone()
            }
        }
        return events
    }

    /// Reads what process socket `fd` has (frames may arrive split or
    /// batched) and returns what it means. End of file closes the socket
    /// (through `onUnregister`); the exit itself comes from the zygote. An
    /// unknown `fd` returns nothing.
    public func handleReadable(fd: Int32) -> [PoolEvent] {
        guard let m = byFd[fd] else { return [] }
        return receive(m)
    }

    /// Reads until the socket has nothing more, then decodes.
    func receive(_ m: Member) -> [PoolEvent] {
        var closed = false
        var reads = 0
        while m.fd >= 0 && reads < 64 {
            reads += 1
            let n = readBuffer.withUnsafeMutableBytes { recv(m.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                readBuffer.withUnsafeBytes { m.reader.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                if n < readBuffer.count { break }
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                closed = true
                break
            }
        }
        var events: [PoolEvent] = []
        do {
            while let frame = try m.reader.next() {
                handle(frame, from: m, into: &events)
            }
        } catch {
            logger.error("\(m.name) (pid \(m.pid)) sent a corrupt frame: \(error); killing it")
            fault(m, "(killed after a corrupt frame)")
            closed = true
        }
        if closed { disconnect(m) }
        return events
    }

    func handle(_ frame: PoolFrame, from m: Member, into events: inout [PoolEvent]) {
        switch frame {
        case .ready:
            guard !m.ready else { return }
            m.ready = true
            logger.debug("\(m.name) (pid \(m.pid)) is ready")
            events.append(.processReady(pid: m.pid))
        case .result(let seq, let outcome, let runtime):
            guard let job = m.job, job.seq == seq else {
                logger.warning("\(m.name) (pid \(m.pid)) sent a result for job \(seq), which it was not running; ignored")
                return
            }
            m.jobs.removeFirst()
            m.completed += 1
            events.append(.completed(seq: seq, outcome: outcome, runtime: runtime, pid: m.pid))
            if let limit = maxTasksPerChild, m.completed >= limit, m.jobs.isEmpty, !m.retiring {
                renew(m, because: "has run \(m.completed) task\(m.completed == 1 ? "" : "s") (--max-tasks-per-child \(limit))")
            }
        case .recycle(let reason):
            if !m.retiring { renew(m, because: reason) }
        case .progress(let seq, let current, let total):
            guard m.job?.seq == seq else { return }
            events.append(.progress(seq: seq, current: current, total: total, pid: m.pid))
        case .task:
            logger.warning("\(m.name) (pid \(m.pid)) sent a task frame; ignored")
        }
    }

    /// A process has ended: report its job lost, log, replace it.
    func died(_ m: Member, status: ProcessExitStatus, withZygote: Bool = false) -> [PoolEvent] {
        // What it wrote before it died is still in the socket: a result
        // written just before a crash is a result, not a lost job.
        var events = m.fd >= 0 ? receive(m) : []
        disconnect(m)
        members[m.pid] = nil
        let sentByMaster = m.killedBy != nil && status.signal == m.killedBy
        let planned = (m.retiring || stopping != nil || sentByMaster) && !m.faulted
        let how = withZygote ? "was killed with the zygote" : status.description(sentByMaster: sentByMaster)
        var description = "\(m.name) (pid \(m.pid)) \(how)"
        if let note = m.note { description += " " + note }
        if let job = m.job {
            events.append(.lost(seq: job.seq, pid: m.pid, exception: TaskException(
                type: "WorkerLostError", module: "billiard.exceptions",
                message: "Worker exited prematurely: \(status.humanStatus) Job: \(job.seq).")))
        }
        // A process writes each result before it reads the next job, so the
        // jobs queued behind the one it was running never started.
        if m.jobs.count > 1 {
            events.append(.unstarted(seqs: m.jobs.dropFirst().map(\.seq), pid: m.pid))
        }
        events.append(.processExited(pid: m.pid, description: description))
        if planned {
            logger.debug("\(description)")
        } else {
            var line = "Process '\(m.name)' pid:\(m.pid) \(how)"
            if let note = m.note { line += " " + note }
            if let job = m.job {
                line += " while running \(job.taskName)[\(job.taskID)]"
            } else if !m.ready && !withZygote {
                line += " before it was ready (while loading plugins or in worker_process_init)"
            }
            logger.error("\(line)")
            crashes.append((System.now(), !m.ready))
        }
        return events + replace()
    }

    /// Replaces dead processes unless they have been dying too often.
    func replace() -> [PoolEvent] {
        guard stopping == nil, healthy else { return [] }
        let now = System.now()
        crashes.removeAll { now - $0.time > restartWindow }
        if crashes.count > maxRestarts {
            let early = crashes.filter(\.beforeReady).count
            let why = early * 2 >= crashes.count
                ? "a plugin's init is probably crashing (\(early) of them died before they were ready)"
                : "a task is probably crashing them"
            let alive = members.values.filter { !$0.retiring }.count
            let reason = "pool processes crashed \(crashes.count) times in \(Self.seconds(restartWindow)); "
                + "not restarting them — \(why); see the log above. "
                + "The worker carries on with \(alive) of \(concurrency) pool processes."
            halt(reason)
            return [.restartsHalted(reason: reason)]
        }
        fillSlots()
        return []
    }

    func halt(_ reason: String) {
        healthy = false
        haltReason = reason
        for index in pending.keys { pending[index] = true }
        logger.error("\(reason)")
    }

    /// The zygote has gone: every process goes with it.
    func zygoteGone() -> [PoolEvent] {
        var events: [PoolEvent] = []
        if zygote.controlSocket >= 0 { onUnregister(zygote.controlSocket) }
        zygote.stop()
        let how = zygote.exitStatus.map { " (\($0.description))" } ?? ""
        let reason = "the zygote (fork server) has exited\(how); its pool processes die with it and no new ones can be started"
        if stopping == nil {
            halt(reason)
            events.append(.restartsHalted(reason: reason))
        }
        pending.removeAll()
        // They have the zygote as parent and SIGKILL as parent-death signal.
        for m in members.values.sorted(by: { $0.index < $1.index }) {
            events += died(m, status: .signaled(signal: SIGKILL, coreDumped: false), withZygote: true)
        }
        return events
    }

    func disconnect(_ m: Member) {
        guard m.fd >= 0 else { return }
        onUnregister(m.fd)
        byFd[m.fd] = nil
        close(m.fd)
        m.fd = -1
    }

    /// Kills a misbehaving process; its death counts as a crash.
    func fault(_ m: Member, _ note: String) {
        m.note = note
        m.faulted = true
        m.killedBy = SIGKILL
        Glibc.kill(m.pid, SIGKILL)
    }

    /// Retires a process that reached a limit (`maxTasksPerChild`, or its
    /// own `--max-memory-per-child` check) and asks for a new one at once,
    /// forked fresh from the zygote. Jobs already sent to it still run
    /// there; it then reads end of file and exits.
    func renew(_ m: Member, because reason: String) {
        logger.info("\(m.name) (pid \(m.pid)) \(reason): replacing it with a new process")
        retire(m)
        fillSlots()
    }

    /// Asks a process to leave: it finishes its job, reads end of file and
    /// exits.
    func retire(_ m: Member) {
        m.retiring = true
        if m.fd >= 0 && Glibc.shutdown(m.fd, Int32(SHUT_WR)) != 0 {
            m.killedBy = SIGKILL
            Glibc.kill(m.pid, SIGKILL)
        }
    }

    // MARK: Jobs

    /// Hands `job` to an idle process (the one idle longest) and returns
    /// true; false if no process can take it (or the pool is shutting down).
    /// A process whose socket refuses the job is killed and the next one
    /// tried. Once accepted, the job comes back as `.completed`, `.lost` if
    /// its process dies while running it, or `.unstarted` if its process
    /// dies before starting it.
    ///
    /// - Parameter pipelineDepth: with more than 1, a busy process with fewer
    ///   than this many jobs may take it too, queued in its socket. For short
    ///   tasks this saves a wake-up of the process per task (the cost that
    ///   dominates on a small machine); for long ones it would make a task
    ///   wait behind another, so the caller passes 1 for them.
    @discardableResult
    public func dispatch(_ job: PoolJob, pipelineDepth: Int = 1) -> Int32? {
        guard stopping == nil else { return nil }
        guard let m = members.values.filter(isIdle).min(by: { $0.lastUsed < $1.lastUsed })
                ?? (pipelineDepth > 1 ? queueable(depth: pipelineDepth) : nil) else { return nil }
        useCounter += 1
        m.lastUsed = useCounter
        m.assigned += 1
        m.jobs.append(job)
        PoolFrame.task(job).encode(into: &m.outbox)
        if !flushDeferred { flush(m) }
        return m.pid
    }

    /// While true, `dispatch` only queues frames; `flush()` sends them, one
    /// write per process for everything dispatched to it meanwhile (the Hub
    /// turns this on around a batch of dispatches).
    public var flushDeferred = false

    /// Sends the frames `dispatch` queued.
    public func flush() {
        for m in members.values where !m.outbox.isEmpty { flush(m) }
    }

    func flush(_ m: Member) {
        let bytes = m.outbox
        m.outbox.removeAll(keepingCapacity: true)
        let (_, error) = System.sendAll(m.fd, bytes)
        guard error != 0 else { return }
        // The process cannot be reached: its jobs come back as lost (the
        // first) and unstarted (the rest) when it is reaped.
        logger.error("cannot send \(m.jobs.count) job(s) to \(m.name) (pid \(m.pid)): \(System.errorText(error)); killing it")
        disconnect(m)
        fault(m, "(killed after a failed write)")
    }

    /// The busy process with the fewest jobs, if it has fewer than `depth`.
    func queueable(depth: Int) -> Member? {
        members.values
            .filter { $0.ready && !$0.retiring && $0.fd >= 0 && $0.jobs.count < depth && hasQuota($0) }
            .min { ($0.jobs.count, $0.lastUsed) < ($1.jobs.count, $1.lastUsed) }
    }

    /// Whether `dispatch(_:pipelineDepth:)` would find a process.
    public func canDispatch(pipelineDepth: Int = 1) -> Bool {
        stopping == nil && (idleCount > 0 || (pipelineDepth > 1 && queueable(depth: pipelineDepth) != nil))
    }

    /// Sends `signal` to process `pid` (hard time limit: SIGKILL; revoke
    /// with terminate: SIGTERM; soft time limit: SIGUSR1 also works). If it
    /// dies of that signal, the death is not counted as a crash; its job is
    /// still reported `.lost`. Returns false for a pid not in the pool.
    @discardableResult
    public func kill(pid: Int32, signal: Int32) -> Bool {
        guard let m = members[pid] else { return false }
        m.killedBy = signal
        return Glibc.kill(pid, signal) == 0
    }

    // MARK: Shutdown

    /// Stops the pool. Warm (`cold: false`): no more jobs are accepted; each
    /// process's socket is shut for writing, so it finishes its current job
    /// (its result still arrives), reads end of file, runs
    /// `worker_process_shutdown` and exits. Cold: SIGKILL to every process
    /// now (their jobs come back `.lost`). Either way nothing is replaced,
    /// and the exits arrive as events; `isStopped` turns true after the
    /// last. A cold shutdown may follow a warm one. Does not block; see
    /// `waitUntilStopped(timeout:)`.
    public func shutdown(cold: Bool) {
        if cold { stopping = .cold } else if stopping == nil { stopping = .warm }
        for index in pending.keys { pending[index] = true }
        for m in members.values {
            if cold {
                if m.killedBy != SIGKILL { kill(pid: m.pid, signal: SIGKILL) }
                m.retiring = true
            } else if !m.retiring {
                retire(m)
            }
        }
    }

    // MARK: Without a Hub

    /// Waits up to `timeout` seconds for the zygote's socket or a process
    /// socket to be readable, handles what is, and returns the events: a
    /// one-shot Hub for callers that have none.
    public func pollEvents(timeout: Double) -> [PoolEvent] {
        var fds: [pollfd] = byFd.keys.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let control = zygote.controlSocket
        if control >= 0 { fds.append(pollfd(fd: control, events: Int16(POLLIN), revents: 0)) }
        let ms = Int32(max(0, min(timeout, 3600)) * 1000)
        let n = poll(&fds, nfds_t(fds.count), ms)
        guard n > 0 else { return [] }
        var events: [PoolEvent] = []
        // Processes first: their results before the zygote's exit reports.
        for f in fds where f.revents != 0 && f.fd != control {
            events += handleReadable(fd: f.fd)
        }
        if control >= 0 && fds.last!.revents != 0 {
            events += handleZygoteEvents()
        }
        return events
    }

    /// Drives the pool until every process has exited after `shutdown`
    /// (calling `shutdown(cold: false)` if it has not been called), for at
    /// most `timeout` seconds; then SIGKILLs what is left and waits up to 5
    /// seconds more for their exits. Returns the events seen meanwhile
    /// (results of jobs that finished, `.lost` for those that did not).
    public func waitUntilStopped(timeout: Double) -> [PoolEvent] {
        if stopping == nil { shutdown(cold: false) }
        var events: [PoolEvent] = []
        var deadline = System.now() + timeout
        var killed = stopping == .cold
        while !isStopped {
            let left = deadline - System.now()
            if left <= 0 {
                if killed { break }
                logger.warning("pool processes still running after \(Self.seconds(timeout)); killing them")
                shutdown(cold: true)
                killed = true
                deadline = System.now() + 5
                continue
            }
            events += pollEvents(timeout: min(left, 0.5))
        }
        return events
    }

    /// `60 s`, `1.5 s`.
    static func seconds(_ s: Double) -> String {
        s == s.rounded() && abs(s) < 1e15 ? "\(Int(s)) s" : "\(s) s"
    }
}
