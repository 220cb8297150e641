#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging
import PlugworkerBroker
import PlugworkerCore
import PlugworkerPool

/// A running worker: the Hub, the prefork pool and the consumer, and the
/// signals that stop it.
///
/// Signals only set state that the Hub acts on (they arrive through a
/// signalfd): TERM warm shutdown (stop consuming, give back unstarted
/// messages, let running tasks finish, then exit), INT warm then cold on a
/// second INT, QUIT cold (kill the pool; the broker requeues what was not
/// acknowledged).
public final class Worker {
    /// Exit statuses of `run()`.
    public enum ExitStatus {
        public static let ok: Int32 = 0
        /// The worker could not start (pool, event loop, broker URL).
        public static let startFailed: Int32 = 70
    }

    public let options: WorkerOptions
    let registry: Registry
    let logger: Logger
    let hub: Hub
    let pool: Pool
    let consumer: Consumer
    let zygote: Zygote
    var signalFD: Int32 = -1
    var shutdownPhase = 0  // 0 running, 1 warm, 2 cold
    var warmDeadline: Timer.Entry?

    /// Sets a worker up; `run()` starts it.
    /// - Parameters:
    ///   - registry: the plugins as loaded in the master (strategies, signals).
    ///   - zygote: the fork server, started before any thread existed.
    public init(options: WorkerOptions, registry: Registry, zygote: Zygote, logger: Logger) throws {
        self.options = options
        self.registry = registry
        self.logger = logger
        self.zygote = zygote
        hub = try Hub(logger: logger)
        pool = Pool(zygote: zygote, concurrency: options.concurrency, logger: logger)
        consumer = try Consumer(options: options, registry: registry, hub: hub, pool: pool, logger: logger)
    }

    /// Runs until shut down; returns the exit status.
    public func run() -> Int32 {
        do {
            try setUpSignals()
            try hub.add(zygote.controlSocket) { [unowned self] _ in self.consumer.handle(self.pool.handleZygoteEvents()) }
        } catch {
            logger.critical("cannot start the event loop: \(error)")
            return ExitStatus.startFailed
        }
        pool.onRegister = { [unowned self] fd in
            try? self.hub.add(fd) { [unowned self] _ in self.consumer.handle(self.pool.handleReadable(fd: fd)) }
        }
        pool.onUnregister = { [unowned self] fd in self.hub.remove(fd) }

        print(Banner(options: options, registry: registry, brokerURL: consumer.url.masked).text)
        fflush(nil)
        for (handler, status) in registry.send(.workerInit, SignalPayload(sender: options.nodeName.name, pid: getpid())) {
            logger.error("worker_init handler \(handler.symbol) failed with status \(status)")
        }
        pool.start()
        consumer.onReady = { [unowned self] in
            self.logger.info("\(self.options.nodeName) ready.")
            self.registry.send(.workerReady, SignalPayload(sender: self.options.nodeName.name, pid: getpid()))
        }
        consumer.start()
        CeleryLogHandler.buffered = true
        hub.onBeforePoll {
            CeleryLogHandler.flush()
            return false
        }
        hub.run()
        CeleryLogHandler.flush()
        CeleryLogHandler.buffered = false

        registry.send(.workerShutdown, SignalPayload(sender: options.nodeName.name, pid: getpid()))
        return ExitStatus.ok
    }

    func setUpSignals() throws(SystemCallError) {
        let signals: [Int32] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU]
        signalFD = signals.withUnsafeBufferPointer { pws_signalfd_create($0.baseAddress, Int32($0.count)) }
        if signalFD < 0 { throw SystemCallError(call: "signalfd") }
        try hub.add(signalFD) { [unowned self] _ in
            while case let signo = pws_signalfd_read(self.signalFD), signo != 0 { self.received(signal: signo) }
        }
    }

    func received(signal signo: Int32) {
        switch signo {
        case SIGTERM:
            warmShutdown()
        case SIGINT:
            shutdownPhase == 0 ? warmShutdown() : coldShutdown()
        case SIGQUIT:
            coldShutdown()
        case SIGTTIN:
            pool.grow(1)
            logger.info("pool: growing by 1 (SIGTTIN)")
        case SIGTTOU:
            pool.shrink(1)
            logger.info("pool: shrinking by 1 (SIGTTOU)")
        default:
            logger.info("signal \(signo) ignored")
        }
    }

    /// Stops taking tasks, lets running ones finish, then stops.
    func warmShutdown() {
        guard shutdownPhase == 0 else { return }
        shutdownPhase = 1
        logger.warning("worker: Warm shutdown (MainProcess)")
        registry.send(.workerShuttingDown, SignalPayload(sender: options.nodeName.name, pid: getpid()))
        consumer.stopConsuming()
        warmDeadline = hub.timer.call(after: options.shutdownTimeout) { [unowned self] in
            self.logger.error("worker: running tasks did not finish within \(self.options.shutdownTimeout)s; stopping cold")
            self.coldShutdown()
        }
        waitForIdle()
    }

    func waitForIdle() {
        guard shutdownPhase == 1 else { return }
        if consumer.isIdle {
            warmDeadline?.cancel()
            consumer.close()
            pool.shutdown(cold: false)
            _ = pool.waitUntilStopped(timeout: 5)
            zygote.stop()
            hub.stop()
        } else {
            hub.timer.call(after: 0.05) { [unowned self] in self.waitForIdle() }
        }
    }

    /// Stops now: pool processes are killed, the connection closed.
    func coldShutdown() {
        guard shutdownPhase < 2 else { return }
        if shutdownPhase == 0 {
            registry.send(.workerShuttingDown, SignalPayload(sender: options.nodeName.name, pid: getpid()))
        }
        shutdownPhase = 2
        logger.warning("worker: Cold shutdown (MainProcess)")
        pool.shutdown(cold: true)
        consumer.close()
        zygote.stop()
        hub.stop()
    }
}
