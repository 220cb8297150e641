#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PlugworkerBeat
import PlugworkerBroker
import Logging
import PlugworkerCore
import PlugworkerPool
import PlugworkerWorker

/// `plugworker [worker]`: run a Celery worker whose tasks come from plugins.
/// Flags and their meaning follow `celery worker`.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a Celery worker (the default command).",
        discussion: """
            Consumes Celery task messages from RabbitMQ, runs them in a prefork pool of
            processes that load the plugins, and publishes results over rpc://.
            Signals: TERM warm shutdown (finish running tasks, give back the rest),
            INT warm then cold, QUIT cold, HUP reload the pool (new processes; old ones
            finish their tasks). Plugins added, replaced or removed in the plugin
            directories take effect while running (hot plugins; --no-hot-plugins).
            """
    )

    @Option(name: .long, help: ArgumentHelp("Broker URL (default: $CELERY_BROKER_URL or amqp://guest:guest@localhost:5672//).", valueName: "url"))
    var broker: String?

    @Option(name: [.customShort("c"), .long], help: "Number of pool processes (default: the number of CPUs).")
    var concurrency: Int?

    @Option(name: .customLong("autoscale"), help: ArgumentHelp("Autoscale the pool between max and min processes (min default 0): it starts with min, grows while tasks wait, shrinks after --autoscale-keepalive seconds without work; -c is then ignored.", valueName: "max,min"))
    var autoscale: String?

    @Option(name: .customLong("autoscale-keepalive"), help: ArgumentHelp("Seconds without work before the autoscaler shrinks the pool (Celery's AUTOSCALE_KEEPALIVE).", valueName: "seconds"))
    var autoscaleKeepalive: Double = 30

    @Option(name: .customLong("max-tasks-per-child"), help: ArgumentHelp("Replace a pool process after it has run this many tasks.", valueName: "n"))
    var maxTasksPerChild: Int?

    @Option(name: .customLong("max-memory-per-child"), help: ArgumentHelp("Replace a pool process whose resident memory exceeds this many KiB after a task.", valueName: "KiB"))
    var maxMemoryPerChild: Int?

    @Option(name: .customLong("time-limit"), help: ArgumentHelp("Hard time limit in seconds for tasks whose message and options give none: the pool process is killed and the task fails with TimeLimitExceeded.", valueName: "seconds"))
    var timeLimit: Double?

    @Option(name: .customLong("soft-time-limit"), help: ArgumentHelp("Soft time limit in seconds for tasks whose message and options give none: the task sees it through its context.", valueName: "seconds"))
    var softTimeLimit: Double?

    @Option(name: [.customShort("Q"), .long], help: "Comma-separated queues to consume.")
    var queues: String = "celery"

    @Option(name: [.customShort("n"), .long], help: "Node name; %h host, %n short host, %d domain.")
    var hostname: String = "celery@%h"

    @Option(name: .customLong("prefetch-multiplier"), help: "Prefetch = concurrency × this.")
    var prefetchMultiplier: Int = 4

    @Flag(name: .customLong("acks-late"), help: "Acknowledge messages after the task ran, for every task.")
    var acksLate = false

    @Option(name: .customLong("eta-limit"), help: ArgumentHelp("Most messages held for an ETA/countdown or a rate limit that raise the prefetch (default 1000); past it the worker takes no more than its ordinary window until some are released.", valueName: "n"))
    var etaLimit: Int = 1000

    @Flag(inversion: .prefixedNo, help: "With acks_late, acknowledge a failed or timed-out task (default); --no-… rejects it without requeue, so a dead-letter exchange gets it.")
    var acksOnFailureOrTimeout = true

    @Flag(name: .customLong("reject-on-worker-lost"), help: "With acks_late, requeue (once) a task whose pool process died, for every task.")
    var rejectOnWorkerLost = false

    @Option(name: .customLong("queue-max-priority"), help: ArgumentHelp("Declare the -Q queues with x-max-priority (as task_queue_max_priority on the clients).", valueName: "n"))
    var queueMaxPriority: Int?

    @Option(name: .customLong("queue-type"), help: ArgumentHelp("classic or quorum (as task_default_queue_type on the clients); quorum queues get per-consumer QoS.", valueName: "type"))
    var queueType: String?

    @Option(name: .customLong("queue-argument"), help: ArgumentHelp("A declaration argument for one queue, e.g. celery:x-dead-letter-exchange=dlx (repeatable; integers are sent as integers).", valueName: "queue:key=value"))
    var queueArgument: [String] = []

    @Flag(name: .customLong("task-track-started"), help: "Publish a STARTED result when a task starts, for every task (Celery's task_track_started; else per task option).")
    var trackStarted = false

    @Option(name: .customLong("broker-ca"), help: ArgumentHelp("amqps://: PEM file of the CAs that may sign the broker's certificate (default: the URL's ssl_ca_certs, else the system's bundle).", valueName: "file"))
    var brokerCA: String?

    @Option(name: .customLong("broker-cert"), help: ArgumentHelp("amqps://: PEM client certificate (with --broker-key), for brokers that ask for one.", valueName: "file"))
    var brokerCert: String?

    @Option(name: .customLong("broker-key"), help: ArgumentHelp("amqps://: PEM private key of --broker-cert.", valueName: "file"))
    var brokerKey: String?

    @Option(name: .customLong("max-message-size"), help: "Reject message bodies larger than this many bytes.")
    var maxMessageSize: Int = 16 << 20

    @Option(name: .customLong("broker-heartbeat"), help: "AMQP heartbeat in seconds (0 disables).")
    var brokerHeartbeat: Int = 60

    @Flag(name: [.customShort("E"), .customLong("task-events")], help: "Send task events (for Flower and celery events).")
    var taskEvents = false

    @Flag(name: .customLong("without-heartbeat"), help: "Do not send worker-heartbeat events.")
    var withoutHeartbeat = false

    @Option(name: .customLong("heartbeat-interval"), help: "Seconds between worker-heartbeat events.")
    var heartbeatInterval: Double = 2.0

    @Option(name: .customLong("statedb"), help: ArgumentHelp("Keep the revoked task ids and the clock in this file across restarts (%n node name, %h host, %p full node name).", valueName: "file"))
    var statedb: String?

    @Flag(name: .customLong("without-mingle"), help: "Do not sync revoked ids and the clock with the other nodes at start (mingle waits 1 s for their replies).")
    var withoutMingle = false

    @Flag(name: .customLong("without-gossip"), help: "Do not consume the other workers' events (gossip: lost-node notices, clock, election acks).")
    var withoutGossip = false

    @Option(name: .customLong("metrics-port"),
            help: ArgumentHelp("Serve Prometheus metrics on http://<metrics-host>:<port>/metrics and a health check on /healthz (0: off).",
                               discussion: "Served by the worker's event loop (no thread). /healthz answers 200 or 503 with JSON saying whether the event loop, the broker connection and the pool are alive, without asking the broker. A port in use stops the worker at start (exit status 70).",
                               valueName: "port"))
    var metricsPort: Int = 0

    @Option(name: .customLong("metrics-host"), help: ArgumentHelp("Address the metrics endpoint binds: an IPv4 or IPv6 address (default 127.0.0.1, this machine only; 0.0.0.0 for every interface).", valueName: "address"))
    var metricsHost: String = "127.0.0.1"

    @Flag(name: [.customShort("B"), .customLong("beat")], help: "Also run beat, the periodic task scheduler, in this worker (the [beat] table of --config).")
    var beat = false

    @Option(name: .customLong("config"), help: ArgumentHelp("The config file (for -B: its [beat] schedule).", valueName: "file"))
    var config: String = "plugworker.toml"

    @Option(name: [.customShort("s"), .customLong("schedule")], help: ArgumentHelp("Beat's state file (last runs; default: beat.state, or plugworker-beat.state beside the config).", valueName: "file"))
    var schedule: String?

    @Flag(name: .customLong("no-hot-plugins"), help: "Do not watch the plugin directories: plugins added, replaced or removed while running are ignored.")
    var noHotPlugins = false

    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        if let c = concurrency, c < 1 || c > 512 { throw ValidationError("-c must be between 1 and 512") }
        _ = try autoscaleLimits()
        if !(autoscaleKeepalive > 0) { throw ValidationError("--autoscale-keepalive must be more than 0 seconds") }
        if let n = maxTasksPerChild, n < 1 { throw ValidationError("--max-tasks-per-child must be 1 or more") }
        if let n = maxMemoryPerChild, n < 1 { throw ValidationError("--max-memory-per-child must be 1 KiB or more") }
        for (flag, value) in [("--time-limit", timeLimit), ("--soft-time-limit", softTimeLimit)] {
            if let v = value, !(v.isFinite && v >= 0) { throw ValidationError("\(flag) must be 0 (none) or more seconds") }
        }
        if prefetchMultiplier < 0 { throw ValidationError("--prefetch-multiplier must be 0 or more") }
        if queueList.isEmpty { throw ValidationError("-Q needs at least one queue name") }
        if etaLimit < 0 { throw ValidationError("--eta-limit must be 0 or more") }
        if let p = queueMaxPriority, !(1...255).contains(p) { throw ValidationError("--queue-max-priority must be between 1 and 255") }
        if let t = queueType, t != "classic" && t != "quorum" { throw ValidationError("--queue-type must be classic or quorum") }
        _ = try parsedQueueArguments()
        if !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be between 1 and 65535 (0: off)") }
    }

    /// `--queue-argument`s by queue; a value that is an integer is sent as one.
    func parsedQueueArguments() throws -> [String: JSONObject] {
        var out: [String: JSONObject] = [:]
        for spec in queueArgument {
            guard let colon = spec.firstIndex(of: ":"), let eq = spec[colon...].firstIndex(of: "=") else {
                throw ValidationError("--queue-argument \(spec): expected queue:key=value")
            }
            let queue = String(spec[..<colon]), key = String(spec[spec.index(after: colon)..<eq])
            let text = String(spec[spec.index(after: eq)...])
            guard !queue.isEmpty, !key.isEmpty else { throw ValidationError("--queue-argument \(spec): expected queue:key=value") }
            out[queue, default: JSONObject()][key] = Int64(text).map { .int($0) } ?? .string(text)
        }
        return out
    }

    /// `--autoscale max,min` (or `max`, min 0) as Celery reads it: the larger
    /// number is the maximum, whatever the order.
    func autoscaleLimits() throws -> (max: Int, min: Int)? {
        guard let autoscale else { return nil }
        let parts = autoscale.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: " ") }
        guard (1...2).contains(parts.count) else { throw ValidationError("--autoscale \(autoscale): expected max,min") }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count, numbers.allSatisfy({ (0...512).contains($0) }) else {
            throw ValidationError("--autoscale \(autoscale): expected max,min, numbers from 0 to 512")
        }
        let (a, b) = (numbers[0], numbers.count == 2 ? numbers[1] : 0)
        guard Swift.max(a, b) >= 1 else { throw ValidationError("--autoscale \(autoscale): the maximum must be 1 or more") }
        return (Swift.max(a, b), Swift.min(a, b))
    }

    var queueList: [String] {
        queues.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    func run() throws {
        try plugins.bootstrapLogging(default: "info")
        var options = WorkerOptions()
        options.brokerURL = broker ?? getenv("CELERY_BROKER_URL").map { String(cString: $0) } ?? options.brokerURL
        options.nodeName = NodeName(hostname)
        options.concurrency = concurrency ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if let limits = try autoscaleLimits() {
            options.autoscale = limits
            options.concurrency = limits.min  // as Celery: the pool starts with min
        }
        options.autoscaleKeepalive = autoscaleKeepalive
        options.maxTasksPerChild = maxTasksPerChild
        options.maxMemoryPerChild = maxMemoryPerChild
        options.hardTimeLimit = timeLimit.flatMap { $0 > 0 ? $0 : nil }
        options.softTimeLimit = softTimeLimit.flatMap { $0 > 0 ? $0 : nil }
        options.queues = queueList
        options.prefetchMultiplier = prefetchMultiplier
        options.acksLate = acksLate
        options.etaLimit = etaLimit
        options.acksOnFailureOrTimeout = acksOnFailureOrTimeout
        options.rejectOnWorkerLost = rejectOnWorkerLost
        options.queueMaxPriority = queueMaxPriority
        options.queueType = queueType
        options.queueArguments = try parsedQueueArguments()
        options.trackStarted = trackStarted
        // TLS: the URL's ssl_* query parameters, then the flags. The
        // certificate is always verified unless the URL says ssl_cert_reqs=CERT_NONE.
        do {
            options.tls = try TLSOptions.fromQuery(BrokerURL(parsing: options.brokerURL).query)
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitStatus.config
        }
        if let brokerCA { options.tls.caFile = brokerCA }
        if let brokerCert { options.tls.certificateFile = brokerCert }
        if let brokerKey { options.tls.keyFile = brokerKey }
        options.maxMessageSize = maxMessageSize
        options.brokerHeartbeat = brokerHeartbeat
        options.sendTaskEvents = taskEvents
        options.withoutHeartbeat = withoutHeartbeat
        options.heartbeatInterval = heartbeatInterval
        options.statedb = statedb.map { NodeName.format($0, node: options.nodeName.name) }
        options.withoutMingle = withoutMingle
        options.withoutGossip = withoutGossip
        options.metricsPort = metricsPort
        if beat {
            do {
                options.beat = try BeatConfig.load(path: config, statePath: schedule)
            } catch {
                FileHandleOutput.stderr(error.description)
                throw ExitStatus.config
            }
        }
        options.metricsHost = metricsHost
        options.hotPlugins = !noHotPlugins

        // The zygote is forked before anything can start a thread (plugin
        // inits included); pool processes load the plugins themselves.
        // They load the plugin files the master hands the zygote (exactly
        // the master's; with hot plugins, private copies), else the directories.
        let pluginOptions = plugins
        let zygote = try Zygote.start(loading: { files in
            let registry = Registry()
            _ = pluginOptions.loadAll(into: pluginOptions.makeLoader(registry: registry), files: files)
            return PoolProcess.Runtime(registry: registry, hostname: options.nodeName.name,
                                       maxMemoryPerChild: options.maxMemoryPerChild)
        })
        let registry = Registry()
        let loader = plugins.makeLoader(registry: registry)
        if options.hotPlugins {
            do {
                loader.store = try PluginStore()
            } catch {
                FileHandleOutput.stderr(error.description)
                throw ExitStatus.config
            }
        }
        defer { loader.store?.removeAll() }
        let errors = plugins.loadAll(into: loader)
        zygote.setPluginFiles(loader.pluginFiles)
        // Plugins found in a directory may fail (logged; the worker goes on
        // without them), but a --task or --steps given by hand must work.
        let explicit = errors.filter { e in registry.failures.allSatisfy { $0.error != e } }
        if !explicit.isEmpty {
            for e in explicit { FileHandleOutput.stderr(e.description) }
            throw ExitStatus.config
        }
        let worker = Worker(options: options, registry: registry, zygote: zygote, loader: loader,
                            logger: Logger(label: "plugworker.worker"))
        let status = worker.run()
        if status != 0 { throw ExitCode(status) }
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}
