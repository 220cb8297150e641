#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging
import PlugworkerBeat
import PlugworkerBroker
import PlugworkerCore
import PlugworkerPool

/// A running worker: a blueprint of bootsteps (Timer, Hub, Metrics, Pool,
/// Beat, StateDB, plugin worker steps, Consumer last), started in dependency order
/// and stopped in reverse; the Consumer step runs the consumer blueprint.
///
/// Signals only set state that the Hub acts on (they arrive through a
/// signalfd): TERM warm shutdown (stop consuming, give back unstarted
/// messages, let running tasks finish, then exit), INT warm then cold on a
/// second INT, QUIT cold (kill the pool; the broker requeues what was not
/// acknowledged), TTIN/TTOU grow/shrink the pool (with `--autoscale`,
/// moving its limits if needed), HUP reloads the pool (`Pool.recycle`: new
/// processes, old ones finish their tasks and exit).
public final class Worker {
    /// Exit statuses of `run()`.
    public enum ExitStatus {
        public static let ok: Int32 = 0
        /// A step failed to create or start (pool, event loop, broker URL,
        /// a plugin step); the steps already started were stopped.
        public static let startFailed: Int32 = 70
        /// The blueprints cannot be ordered: an unknown step name or a cycle.
        public static let badBlueprint: Int32 = 78
    }

    public let options: WorkerOptions
    let registry: Registry
    let logger: Logger
    let zygote: Zygote
    /// The master's plugin loader, for hot plugins (nil: no Autoreloader).
    let loader: PluginLoader?
    private(set) var blueprint: Blueprint<Worker>!

    // Made by the steps.
    var timer: Timer!
    var hub: Hub!
    var pool: Pool!
    var consumer: Consumer!
    /// With `--autoscale` (the Autoscaler step).
    var autoscaler: PoolAutoscaler?
    var beat: BeatService?
    var hotPlugins: HotPlugins?
    /// With `--statedb`: the state file (the StateDB step).
    var stateDB: StateDB?
    var signalFD: Int32 = -1
    /// With `--metrics-port` (the Metrics step): the counters, and the
    /// HTTP endpoint serving them and `/healthz` from the Hub.
    private(set) var metrics: WorkerMetrics?
    private(set) var metricsServer: MetricsServer?

    var shutdownPhase = 0  // 0 running, 1 warm, 2 cold
    var warmDeadline: Timer.Entry?

    /// Sets a worker up; `run()` starts it.
    /// - Parameters:
    ///   - registry: the plugins as loaded in the master (strategies, signals, steps).
    ///   - zygote: the fork server, started before any thread existed.
    ///   - loader: the loader that filled `registry`, for hot plugins
    ///     (the Autoreloader step does nothing without one).
    public init(options: WorkerOptions, registry: Registry, zygote: Zygote, loader: PluginLoader? = nil, logger: Logger) {
        self.options = options
        self.registry = registry
        self.logger = logger
        self.zygote = zygote
        self.loader = loader
        blueprint = Blueprint(name: "Worker", steps: Self.steps(options: options, registry: registry), logger: logger)
    }

    /// The worker blueprint's steps: the built-in ones, then the plugins'.
    static func steps(options: WorkerOptions, registry: Registry) -> [BootStep<Worker>] {
        var steps: [BootStep<Worker>] = [
            BootStep("Timer", create: { w in w.timer = Timer() }),
            BootStep("Hub", requires: ["Timer"],
                     create: { w in w.hub = try Hub(logger: w.logger, timer: w.timer) },
                     start: { w in try w.startSignals() },
                     stop: { w in w.stopSignals() }),
            // Before the Pool, so that a port in use stops the worker
            // before any process is forked.
            BootStep("Metrics", requires: ["Hub"], enabled: options.metricsPort != 0,
                     create: { w in try w.createMetrics() },
                     start: { w in try w.metricsServer?.start() },
                     stop: { w in w.stopMetrics() }),
            BootStep("Pool", requires: ["Hub"],
                     create: { w in w.createPool() },
                     start: { w in try w.startPool() },
                     stop: { w in w.stopPool() },
                     shutdown: { w in w.zygote.stop() }),
            // Beat with -B: the scheduler on this Hub, sending through the
            // Consumer's connection (which starts after it: due entries wait
            // until it is up).
            BootStep("Beat", requires: ["Pool"], enabled: options.beat != nil,
                     create: { w in w.createBeat() },
                     start: { w in try w.beat?.start() },
                     stop: { w in w.beat?.stop() }),
            // StateDB with --statedb: revoked ids and the clock kept across
            // restarts; read before the Consumer exists (see Worker+StateDB).
            BootStep("StateDB", requires: ["Timer"], enabled: options.statedb != nil,
                     create: { w in w.createStateDB() },
                     start: { w in w.startStateDB() },
                     stop: { w in w.stopStateDB() }),
            // Hot plugins (see HotPlugins); Celery's module reloader had this name.
            BootStep("Autoreloader", requires: ["Pool"], enabled: options.hotPlugins,
                     create: { w in w.createHotPlugins() },
                     start: { w in try w.hotPlugins?.start() },
                     stop: { w in w.hotPlugins?.stop() }),
            // --autoscale: grows and shrinks the pool on the Timer.
            BootStep("Autoscaler", requires: ["Pool"], enabled: options.autoscale != nil,
                     create: { w in w.createAutoscaler() },
                     start: { w in w.autoscaler?.start() },
                     stop: { w in w.autoscaler?.stop() }),
            BootStep("Consumer", requires: ["Pool"], last: true,
                     create: { w in try w.createConsumer() },
                     start: { w in try w.consumer.blueprint.start(w.consumer) },
                     stop: { w in w.consumer.blueprint.stop(w.consumer) },
                     shutdown: { w in w.consumer.blueprint.shutdown(w.consumer) }),
        ]
        for def in registry.steps where def.blueprint == .worker {
            steps.append(PluginSteps.step(def, hostname: options.nodeName.name))
        }
        return steps
    }

    /// Runs until shut down; returns the exit status.
    public func run() -> Int32 {
        do {
            // Both blueprints' order first, so an unknown name or a cycle in
            // either is a configuration error, not a failed step.
            _ = try Bootsteps.describe(options: options, registry: registry)
        } catch {
            logger.critical("cannot boot: \(error)")
            return ExitStatus.badBlueprint
        }
        // As Celery: worker_init before the steps are created.
        for (handler, status) in registry.send(.workerInit, SignalPayload(sender: options.nodeName.name, pid: getpid())) {
            logger.error("worker_init handler \(handler.symbol) failed with status \(status)")
        }
        do {
            try blueprint.apply(self)
        } catch {
            logger.critical("cannot boot: \(error)")
            return error.code == .stepFailed ? ExitStatus.startFailed : ExitStatus.badBlueprint
        }
        print(Banner(options: options, registry: registry, brokerURL: consumer.url.masked).text)
        fflush(nil)
        do {
            try blueprint.start(self)
        } catch {
            logger.critical("cannot start: \(error)")
            blueprint.shutdown(self)
            return ExitStatus.startFailed
        }
        CeleryLogHandler.buffered = true
        hub.onBeforePoll {
            CeleryLogHandler.flush()
            return false
        }
        hub.run()
        CeleryLogHandler.flush()
        CeleryLogHandler.buffered = false
        blueprint.stop(self)
        blueprint.shutdown(self)
        registry.send(.workerShutdown, SignalPayload(sender: options.nodeName.name, pid: getpid()))
        return ExitStatus.ok
    }

    // MARK: Steps

    func startSignals() throws(SystemCallError) {
        let signals: [Int32] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU]
        signalFD = signals.withUnsafeBufferPointer { pws_signalfd_create($0.baseAddress, Int32($0.count)) }
        if signalFD < 0 { throw SystemCallError(call: "signalfd") }
        try hub.add(signalFD) { [unowned self] _ in
            while case let signo = pws_signalfd_read(self.signalFD), signo != 0 { self.received(signal: signo) }
        }
    }

    func stopSignals() {
        guard signalFD >= 0 else { return }
        hub.remove(signalFD)
        close(signalFD)
        signalFD = -1
    }

    func createPool() {
        pool = Pool(zygote: zygote, concurrency: options.concurrency,
                    maxRestarts: Pool.defaultMaxRestarts(concurrency: options.maxConcurrency), logger: logger)
        pool.maxTasksPerChild = options.maxTasksPerChild
        pool.onRegister = { [unowned self] fd in
            try? self.hub.add(fd) { [unowned self] _ in self.consumer.handle(self.pool.handleReadable(fd: fd)) }
        }
        pool.onUnregister = { [unowned self] fd in self.hub.remove(fd) }
    }

    func startPool() throws(SystemCallError) {
        try hub.add(zygote.controlSocket) { [unowned self] _ in self.consumer.handle(self.pool.handleZygoteEvents()) }
        pool.start()
    }

    func stopPool() {
        pool.shutdown(cold: shutdownPhase == 2)
        _ = pool.waitUntilStopped(timeout: 5)
    }

    func createBeat() {
        guard let config = options.beat else { return }
        beat = BeatService(config: config, hub: hub, logger: logger, origin: options.nodeName.name) { [unowned self] message, queue in
            self.consumer?.sendTask(message, queue: queue) ?? false
        }
    }

    func createAutoscaler() {
        guard let limits = options.autoscale else { return }
        let scaler = PoolAutoscaler(max: limits.max, min: limits.min, keepalive: options.autoscaleKeepalive,
                                    pool: pool, timer: timer, logger: logger)
        scaler.reserved = { [unowned self] in self.consumer?.reservedCount ?? 0 }
        scaler.onMaxChange = { [unowned self] in self.consumer?.setPrefetchConcurrency($0) }
        autoscaler = scaler
    }

    func createHotPlugins() {
        guard let loader, loader.store != nil else { return }
        let hot = HotPlugins(loader: loader, hub: hub, pool: pool, zygote: zygote, logger: logger)
        hot.onChange = { [unowned self] in self.consumer?.refreshStrategies() }
        hot.metrics = metrics
        hotPlugins = hot
    }

    func createConsumer() throws {
        consumer = try Consumer(options: options, registry: registry, hub: hub, pool: pool, metrics: metrics, logger: logger)
        consumer.autoscaler = autoscaler
        consumer.onShutdownRequest = { [unowned self] in self.warmShutdown() }
        consumer.onReady = { [unowned self] in
            self.logger.info("\(self.options.nodeName) ready.")
            self.registry.send(.workerReady, SignalPayload(sender: self.options.nodeName.name, pid: getpid()))
        }
        stateDB?.restore(into: consumer)
        try consumer.blueprint.apply(consumer)
    }

    // MARK: Metrics

    /// The Metrics step: counters for every registered task, the initial
    /// plugin load counted, and the endpoint bound (a port in use fails
    /// the step, and the worker exits with `startFailed`).
    func createMetrics() throws(MetricsServerError) {
        let m = WorkerMetrics()
        m.pluginLoaded(count: registry.modules.count)
        m.pluginFailed(count: registry.failures.count)
        let server = try MetricsServer(host: options.metricsHost, port: options.metricsPort, hub: hub, logger: logger)
        server.respond = { [unowned self] head in
            MetricsEndpoint.respond(to: head, metrics: { self.metricsText() }, health: { self.health() })
        }
        metrics = m
        metricsServer = server
        logger.info("metrics: serving http://\(server.address)/metrics and /healthz")
    }

    func stopMetrics() {
        metricsServer?.stop()
    }

    /// `/metrics`: the gauges read now, then every family.
    func metricsText() -> [UInt8] {
        guard let metrics else { return [] }
        var sample = WorkerMetrics.Sample()
        if let pool {
            sample.poolProcesses = pool.processes.count { !$0.retiring }
            sample.poolBusy = pool.busyCount
            sample.poolConcurrency = pool.concurrency
        }
        if let consumer {
            sample.prefetchInUse = consumer.unackedTaskMessages
            sample.prefetchLimit = Int(consumer.prefetchCount)
            sample.brokerConnected = consumer.connection != nil
        }
        return metrics.exposition(sample)
    }

    /// `/healthz`: from what the Hub, the consumer and the pool know now.
    func health() -> HealthReport {
        let processes = pool?.processes ?? []
        return HealthReport(hubRunning: hub.running, hubLastTurnAge: max(0, Timer.now() - hub.lastTurn),
                            brokerState: consumer?.connectionState ?? "connecting",
                            reconnects: consumer?.reconnects ?? 0,
                            processes: processes.count { !$0.retiring },
                            readyProcesses: processes.count { $0.ready && !$0.retiring },
                            busyProcesses: pool?.busyCount ?? 0,
                            concurrency: pool?.concurrency ?? options.concurrency,
                            poolHealthy: (pool?.healthy ?? false) && !zygote.isClosed)
    }

    // MARK: Signals and shutdown

    func received(signal signo: Int32) {
        switch signo {
        case SIGTERM:
            warmShutdown()
        case SIGINT:
            shutdownPhase == 0 ? warmShutdown() : coldShutdown()
        case SIGQUIT:
            coldShutdown()
        case SIGTTIN:
            logger.info("pool: growing by 1 (SIGTTIN)")
            if let autoscaler { autoscaler.forceGrow(1) } else { pool.grow(1); consumer?.setPrefetchConcurrency(pool.concurrency) }
        case SIGTTOU:
            logger.info("pool: shrinking by 1 (SIGTTOU)")
            if let autoscaler { autoscaler.forceShrink(1) } else { pool.shrink(1); consumer?.setPrefetchConcurrency(pool.concurrency) }
        case SIGHUP:
            let retired = pool.recycle()
            logger.info("pool: reloading (SIGHUP): \(retired) process(es) finish their tasks, new ones start")
            if let beat {
                logger.info("beat: HUP: reloading the schedule")
                beat.reload()
            }
        default:
            logger.info("signal \(signo) ignored")
        }
    }

    /// Stops taking tasks, lets running ones finish, then stops the steps.
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
            hub.stop()
        } else {
            hub.timer.call(after: 0.05) { [unowned self] in self.waitForIdle() }
        }
    }

    /// Stops now: pool processes are killed, then the steps stop.
    func coldShutdown() {
        guard shutdownPhase < 2 else { return }
        if shutdownPhase == 0 {
            registry.send(.workerShuttingDown, SignalPayload(sender: options.nodeName.name, pid: getpid()))
        }
        shutdownPhase = 2
        logger.warning("worker: Cold shutdown (MainProcess)")
        pool.shutdown(cold: true)
        hub.stop()
    }
}
