#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging

/// The master's event loop: one thread, one epoll set over the AMQP socket,
/// the pool sockets, the zygote's control socket, a signalfd and a timerfd
/// (Celery's `kombu.asynchronous.Hub`).
///
/// Each turn: fire due timers, run the "before poll" callbacks (the consumer
/// drains what rabbitmq-c has already buffered there — a socket that is not
/// readable may still have whole messages waiting in the library), arm
/// the timerfd for the next one, then block in epoll until a descriptor is
/// ready (the timerfd included), and call the handlers of ready descriptors.
/// Handlers never block.
public final class Hub {
    public typealias Handler = (_ events: UInt32) -> Void

    let epfd: Int32
    let timerFD: Int32
    var armedDeadline: Double?
    var handlers: [Int32: Handler] = [:]
    public let timer: Timer
    var beforePoll: [() -> Bool] = []
    public private(set) var running = false
    /// When the current (or last) turn began, on `Timer.now()`'s clock:
    /// `/healthz` calls the loop stuck when this gets old.
    public private(set) var lastTurn = Timer.now()
    var stopRequested = false
    let logger: Logger

    public init(logger: Logger, timer: Timer = Timer()) throws(SystemCallError) {
        self.logger = logger
        self.timer = timer
        epfd = pws_epoll_create()
        if epfd < 0 { throw SystemCallError(call: "epoll_create1") }
        timerFD = pws_timerfd_create()
        if timerFD < 0 { throw SystemCallError(call: "timerfd_create") }
        try add(timerFD) { [unowned self] _ in
            _ = pws_timerfd_read(self.timerFD)
            self.armedDeadline = nil
        }
    }

    deinit {
        close(timerFD)
        close(epfd)
    }

    /// Arms the timerfd for the next timer entry (if it changed).
    func armTimer() {
        guard let wait = timer.timeUntilNext() else {
            if armedDeadline != nil {
                _ = pws_timerfd_set(timerFD, 0, 0)
                armedDeadline = nil
            }
            return
        }
        let deadline = Timer.now() + wait
        if let armed = armedDeadline, abs(armed - deadline) < 0.0005 { return }
        _ = pws_timerfd_set(timerFD, max(wait, 0.000_001), 0)
        armedDeadline = deadline
    }

    /// Watches `fd` for readability (and `writable` if asked), calling
    /// `handler` with the epoll event bits.
    public func add(_ fd: Int32, writable: Bool = false, handler: @escaping Handler) throws(SystemCallError) {
        let events = UInt32(PWS_IN) | (writable ? UInt32(PWS_OUT) : 0)
        let data = UInt64(UInt32(bitPattern: fd))
        // A closed descriptor leaves epoll by itself, and its number may come
        // back for a new socket: add, and modify only if it is still there.
        if pws_epoll_ctl(epfd, 1, fd, events, data) != 0 {
            guard errno == EEXIST, pws_epoll_ctl(epfd, 2, fd, events, data) == 0 else {
                throw SystemCallError(call: "epoll_ctl(ADD, \(fd))")
            }
        }
        handlers[fd] = handler
    }

    /// Changes whether `fd` is also watched for writability.
    public func setWritable(_ fd: Int32, _ writable: Bool) {
        guard handlers[fd] != nil else { return }
        let events = UInt32(PWS_IN) | (writable ? UInt32(PWS_OUT) : 0)
        _ = pws_epoll_ctl(epfd, 2, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    /// Sets what `fd` is watched for: readability, writability, both, or
    /// neither (errors and hang-ups are always reported).
    public func setInterest(_ fd: Int32, readable: Bool, writable: Bool) {
        guard handlers[fd] != nil else { return }
        let events = (readable ? UInt32(PWS_IN) : 0) | (writable ? UInt32(PWS_OUT) : 0)
        _ = pws_epoll_ctl(epfd, 2, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    /// Stops watching `fd` (it need not be open any more).
    public func remove(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        _ = pws_epoll_ctl(epfd, 3, fd, 0, 0)
    }

    /// Adds work to run at the start of every turn, before blocking. It
    /// returns true when it did something (the Hub then polls without
    /// blocking, so that buffered input is never left waiting).
    public func onBeforePoll(_ work: @escaping () -> Bool) {
        beforePoll.append(work)
    }

    /// Makes `run()` return after the current turn.
    public func stop() { stopRequested = true }

    /// Runs the loop until `stop()`.
    public func run() {
        running = true
        stopRequested = false
        defer { running = false }
        var events = [pws_event](repeating: pws_event(), count: 64)
        while !stopRequested {
            lastTurn = Timer.now()
            // Timers first: one may connect, and rabbitmq-c may then hold
            // deliveries in its buffer that only the drains below see.
            timer.fireDue()
            var busy = false
            for work in beforePoll where work() { busy = true }
            if stopRequested { break }
            armTimer()
            let timeout: Int32 = busy ? 0 : -1
            let n = events.withUnsafeMutableBufferPointer { pws_epoll_wait(epfd, $0.baseAddress, 64, timeout) }
            if n < 0 {
                if errno == EINTR { continue }
                logger.critical("epoll_wait failed: \(String(cString: strerror(errno)))")
                return
            }
            lastTurn = Timer.now()
            for i in 0..<Int(n) {
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: events[i].data))
                handlers[fd]?(events[i].events)
            }
        }
    }
}

/// A system call failed: its name and errno.
public struct SystemCallError: Error, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public init(call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}
