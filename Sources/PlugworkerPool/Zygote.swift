#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem

/// The master's handle on the fork server.
///
/// `start(setup:)` forks the zygote: a small, single-threaded copy of the
/// master taken before the master starts any thread, loads any plugin or
/// opens any connection. Forking a multi-threaded Swift process is unsafe
/// (locks held by other threads stay locked in the child; Dispatch and Swift
/// concurrency never run again there), so every pool process is forked from
/// the zygote instead, never from the master.
///
/// The master talks to it over a `SOCK_SEQPACKET` socket pair: it asks for a
/// process (`requestSpawn(index:)`), and reads back the new process's pid
/// and socket (passed with `SCM_RIGHTS`), and the exit status of every pool
/// process the zygote reaps (`readEvents()`). The master's end is
/// non-blocking: register `controlSocket` for reading in the Hub's epoll and
/// call `readEvents()` (or `Pool.handleZygoteEvents()`) when it is readable.
///
/// Lifetimes: the zygote has `PR_SET_PDEATHSIG(SIGKILL)` towards the master
/// and exits when its socket reaches end of file; pool processes have the
/// same towards the zygote. So nothing outlives the master. Beware of
/// `waitpid(-1, …)` in the master: it would reap the zygote behind this
/// object's back; wait for specific pids.
public final class Zygote {
    /// The zygote's pid (a child of the master).
    public let pid: pid_t
    /// The master's end of the control socket, non-blocking, for the Hub to
    /// poll for reading; -1 once stopped.
    public private(set) var controlSocket: Int32
    /// Messages not yet written (the socket was full), in order.
    var unsent: [[UInt8]] = []
    /// The plugin set generation last sent (`setPluginFiles`); 0 for none.
    public private(set) var pluginGeneration: Int32 = 0
    /// The zygote's exit status, once reaped.
    public private(set) var exitStatus: ProcessExitStatus?
    /// The control socket has reached end of file.
    public private(set) var isClosed = false

    init(pid: pid_t, controlSocket: Int32) {
        self.pid = pid
        self.controlSocket = controlSocket
    }

    deinit { stop() }

    /// Forks the zygote. Call it first thing, while the process has one
    /// thread; `setup` runs in each pool process after fork (it loads the
    /// plugins there and returns the registry the process calls tasks from).
    /// Flushes stdio first, so that buffered output is not written twice.
    /// - Throws: `PoolError` if `socketpair` or `fork` fails.
    public static func start(setup: @escaping () -> PoolProcess.Runtime) throws(PoolError) -> Zygote {
        try start(loading: { _ in setup() })
    }

    /// Forks the zygote, as `start(setup:)`; `setup` gets the plugin files
    /// last given to `setPluginFiles(_:)` before the process was requested
    /// (nil if never: load what the configuration names).
    public static func start(loading setup: @escaping ([String]?) -> PoolProcess.Runtime) throws(PoolError) -> Zygote {
        let (master, child) = try System.socketPair(SOCK_SEQPACKET, context: "cannot start the zygote (fork server)")
        let masterPid = getpid()
        fflush(nil)
        let pid = fork()
        if pid < 0 {
            let e = errno
            close(master)
            close(child)
            throw PoolError(call: "fork", errno: e, context: "cannot start the zygote (fork server)")
        }
        if pid == 0 {
            close(master)
            var server = ZygoteServer(control: child, masterPid: masterPid, setup: setup)
            server.run()
        }
        close(child)
        System.setNonBlocking(master)
        return Zygote(pid: pid, controlSocket: master)
    }

    /// Asks for a pool process for slot `index` (the master's number for the
    /// slot; it comes back in `.spawned`). Never blocks: if the socket is
    /// full the request is queued and sent by a later `readEvents()`.
    /// Returns false if the zygote is gone.
    @discardableResult
    public func requestSpawn(index: Int) -> Bool {
        guard controlSocket >= 0, !isClosed else { return false }
        unsent.append(ZygoteMessage(kind: .spawn, a: Int32(index)).bytes)
        return flush()
    }

    /// Tells the zygote which plugin files the processes it forks from now
    /// on load (in this order), as a new generation. Requests already sent
    /// are served with the previous set: the master retires those processes
    /// (`Pool.recycle()`). Never blocks. Returns false if the zygote is gone
    /// or the list does not fit one message (64 KiB).
    @discardableResult
    public func setPluginFiles(_ files: [String]) -> Bool {
        guard controlSocket >= 0, !isClosed else { return false }
        let bytes = ZygoteMessage.pluginSet(generation: pluginGeneration + 1, files: files)
        guard bytes.count <= ZygoteMessage.maxPluginSetSize else { return false }
        pluginGeneration += 1
        unsent.append(bytes)
        return flush()
    }

    /// Sends queued requests; false if the zygote is gone.
    func flush() -> Bool {
        while let bytes = unsent.first {
            let n = bytes.withUnsafeBytes { pws_send_with_fd(controlSocket, $0.baseAddress, UInt(bytes.count), -1) }
            if n == bytes.count {
                unsent.removeFirst()
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true
            } else {
                return false
            }
        }
        return true
    }

    /// Reads everything the zygote has sent, without blocking. A `.closed`
    /// event (once) means the zygote is gone: the control socket stays at
    /// end of file, so unregister it from epoll and call `stop()` (which
    /// closes it and reaps the zygote). `Pool.handleZygoteEvents()` does
    /// both, through its `onUnregister`.
    public func readEvents() -> [ZygoteEvent] {
        guard controlSocket >= 0, !isClosed else { return [] }
        var events: [ZygoteEvent] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            var fd: Int32 = -1
            let n = buffer.withUnsafeMutableBytes { pws_recv_with_fd(controlSocket, $0.baseAddress, UInt($0.count), &fd) }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            if n <= 0 {
                // End of file or a reset: the zygote has gone.
                isClosed = true
                events.append(.closed)
                reap(wait: true)
                return events
            }
            let message = buffer.withUnsafeBytes { ZygoteMessage(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            switch message?.kind {
            case .spawned?:
                if fd >= 0 {
                    events.append(.spawned(index: Int(message!.a), pid: message!.b, fd: fd, number: Int(message!.c)))
                    fd = -1
                } else {
                    // The descriptor did not come through: the process is
                    // unreachable (it exits when the zygote does).
                    kill(message!.b, SIGKILL)
                    events.append(.spawnFailed(index: Int(message!.a), errno: EPROTO))
                }
            case .spawnFailed?:
                events.append(.spawnFailed(index: Int(message!.a), errno: message!.b))
            case .exited?:
                events.append(.exited(pid: message!.a, status: ProcessExitStatus(waitStatus: message!.b)))
            case .spawn?, .plugins?, nil:
                break // not for the master; ignore
            }
            if fd >= 0 { close(fd) }
        }
        _ = flush()
        return events
    }

    /// Stops the zygote: closes the control socket (the zygote then kills
    /// any pool process still running and exits) and reaps it, sending
    /// SIGKILL if it has not gone within 2 seconds. Stop the pool first
    /// (`Pool.shutdown`) so that processes can finish their tasks.
    /// Idempotent.
    public func stop() {
        if controlSocket >= 0 {
            close(controlSocket)
            controlSocket = -1
        }
        reap(wait: true)
    }

    /// Reaps the zygote; with `wait`, gives it 2 seconds, then SIGKILL.
    func reap(wait: Bool) {
        guard exitStatus == nil else { return }
        let deadline = System.now() + 2
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                exitStatus = ProcessExitStatus(waitStatus: status)
                return
            }
            if r < 0 && errno != EINTR { return } // not our child any more (ECHILD)
            if !wait { return }
            if System.now() > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                exitStatus = ProcessExitStatus(waitStatus: status)
                return
            }
            usleep(5_000)
        }
    }
}
