#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import PlugworkerCore

/// The zygote's side: the fork server's loop, run in the forked zygote and
/// never returning.
///
/// It is blocking and single-threaded: `poll` on the control socket and a
/// signalfd for SIGCHLD (with a one-second timeout as a safety net), reaps
/// children with `waitpid(WNOHANG)`, reports each exit, forks a process for
/// each request. Every pool process is forked from here, so it starts as a
/// copy of a process that has never had a second thread.
struct ZygoteServer {
    let control: Int32
    let masterPid: pid_t
    let setup: ([String]?) -> PoolProcess.Runtime
    /// The plugin files processes forked now load (`.plugins` messages).
    var pluginFiles: [String]?
    var children: Set<pid_t> = []
    var forked = 0

    init(control: Int32, masterPid: pid_t, setup: @escaping ([String]?) -> PoolProcess.Runtime) {
        self.control = control
        self.masterPid = masterPid
        self.setup = setup
    }

    mutating func run() -> Never {
        // Die with the master; it may already have gone before prctl ran.
        _ = pws_set_parent_death_signal(SIGKILL)
        if getppid() != masterPid { _exit(0) }
        CeleryLogHandler.processName = "Zygote"
        System.closeInheritedDescriptors(keeping: [control])
        // The master handles the terminal's signals (Ctrl-C, Ctrl-\, hangup)
        // for the whole process group; the zygote goes when the master does.
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGTERM, SIG_DFL)
        pws_unblock_all_signals()
        var chld: [Int32] = [SIGCHLD]
        let sigfd = pws_signalfd_create(&chld, 1)

        var fds = [pollfd(fd: control, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let n = poll(&fds, sigfd >= 0 ? 2 : 1, 1000)
            if n < 0 && errno != EINTR { finish() }
            if fds[1].revents != 0 {
                while pws_signalfd_read(sigfd) != 0 {}
            }
            reapChildren()
            if fds[0].revents != 0 {
                readRequests(sigfd: sigfd)
            }
        }
    }

    /// Reports every child that has ended.
    mutating func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 {
                if pid < 0 && errno == EINTR { continue }
                return
            }
            children.remove(pid)
            send(ZygoteMessage(kind: .exited, a: pid, b: status), fd: -1)
        }
    }

    /// Handles what the master sent; end of file means it has gone.
    mutating func readRequests(sigfd: Int32) {
        var buffer = [UInt8](repeating: 0, count: ZygoteMessage.maxPluginSetSize)
        var fd: Int32 = -1
        let n = buffer.withUnsafeMutableBytes { pws_recv_with_fd(control, $0.baseAddress, UInt($0.count), &fd) }
        if fd >= 0 { close(fd) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n <= 0 { finish() }
        if buffer[0] == ZygoteMessage.Kind.plugins.rawValue {
            if let set = buffer.withUnsafeBytes({ ZygoteMessage.decodePluginSet(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                pluginFiles = set.files
            }
            return
        }
        guard let message = buffer.withUnsafeBytes({ ZygoteMessage(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }),
              message.kind == .spawn else { return }
        spawn(index: message.a, sigfd: sigfd)
    }

    /// Forks one pool process for slot `index`.
    mutating func spawn(index: Int32, sigfd: Int32) {
        let pair: (Int32, Int32)
        do {
            pair = try System.socketPair(SOCK_STREAM, context: "pool process socket")
        } catch {
            send(ZygoteMessage(kind: .spawnFailed, a: index, b: error.errno), fd: -1)
            return
        }
        let (masterEnd, childEnd) = pair
        forked += 1
        let number = forked
        let zygotePid = getpid()
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            close(control)
            if sigfd >= 0 { close(sigfd) }
            close(masterEnd)
            let files = pluginFiles
            PoolProcess(socket: childEnd, index: index, number: number, parent: zygotePid).run(setup: { setup(files) })
        }
        close(childEnd)
        if pid < 0 {
            let e = errno
            close(masterEnd)
            send(ZygoteMessage(kind: .spawnFailed, a: index, b: e), fd: -1)
            return
        }
        children.insert(pid)
        send(ZygoteMessage(kind: .spawned, a: index, b: pid, c: Int32(truncatingIfNeeded: number)), fd: masterEnd)
        close(masterEnd)
    }

    /// Sends a message to the master (blocking); if the master has gone, ends.
    func send(_ message: ZygoteMessage, fd: Int32) {
        let bytes = message.bytes
        let n = bytes.withUnsafeBytes { pws_send_with_fd(control, $0.baseAddress, UInt(bytes.count), fd) }
        if n != bytes.count { finish() }
    }

    /// The master has gone (or asked us to stop): take the pool processes
    /// along and exit.
    func finish() -> Never {
        for pid in children { kill(pid, SIGKILL) }
        _exit(0)
    }
}
