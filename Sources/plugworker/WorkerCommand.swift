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

    @Option(name: [.customShort("Q"), .long], help: "Comma-separated queues to consume.")
    var queues: String = "celery"

    @Option(name: [.customShort("n"), .long], help: "Node name; %h host, %n short host, %d domain.")
    var hostname: String = "celery@%h"

    @Option(name: .customLong("prefetch-multiplier"), help: "Prefetch = concurrency × this.")
    var prefetchMultiplier: Int = 4

    @Flag(name: .customLong("acks-late"), help: "Acknowledge messages after the task ran, for every task.")
    var acksLate = false

    @Flag(name: .customLong("reject-on-worker-lost"), help: "With acks_late: requeue (once) a task whose pool process died instead of failing it, for every task that does not set the option itself.")
    var rejectOnWorkerLost = false

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
        if prefetchMultiplier < 0 { throw ValidationError("--prefetch-multiplier must be 0 or more") }
        if queueList.isEmpty { throw ValidationError("-Q needs at least one queue name") }
        if !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be between 1 and 65535 (0: off)") }
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
        options.queues = queueList
        options.prefetchMultiplier = prefetchMultiplier
        options.acksLate = acksLate
        options.rejectOnWorkerLost = rejectOnWorkerLost
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
            return PoolProcess.Runtime(registry: registry, hostname: options.nodeName.name)
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
