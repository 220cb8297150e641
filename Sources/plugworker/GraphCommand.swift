import ArgumentParser
import PlugworkerCore
import PlugworkerWorker

/// `plugworker graph`: graphs of the worker, like `celery graph`.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Show the worker's structure as a graph (like `celery graph`).",
        subcommands: [BootstepsGraphCommand.self]
    )
}

/// `plugworker graph bootsteps`: the worker and consumer blueprints, with the
/// plugins' steps, as Graphviz DOT or as text (`celery graph bootsteps`).
struct BootstepsGraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootsteps",
        abstract: "Show the worker and consumer bootsteps in boot order, as DOT or text.",
        discussion: """
            DOT (the default) draws a cluster per blueprint and an arrow A -> B for "A requires B" \
            (A starts after B and stops before it). Render it with Graphviz:

                plugworker graph bootsteps --plugins Plugins | dot -Tsvg > bootsteps.svg

            --format text lists each blueprint's boot order with requires and origin.

            Plugins load as for the worker: their init runs (their steps' callbacks never do), and \
            whatever is refused is left out, with a warning on stderr.

            Exit status: 0; 78 when the steps cannot be ordered (unknown step name, cycle, \
            duplicate name); 64 on bad usage.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case dot
        case text
    }

    @Argument(help: ArgumentHelp("Blueprints to show: worker, consumer (default: both).", valueName: "blueprint"))
    var blueprints: [String] = []

    @Option(name: .long, help: "Output format: dot or text.")
    var format: Format = .dot

    @Option(name: [.customShort("Q"), .long], help: "Comma-separated queues the worker would consume.")
    var queues: String = "celery"

    @Option(name: [.customShort("n"), .long], help: "Node name; %h host, %n short host, %d domain.")
    var hostname: String = "celery@%h"

    @Option(name: .customLong("metrics-port"), help: "The worker's --metrics-port: the Metrics step is included when it is not 0.")
    var metricsPort: Int = 0

    @Option(name: .customLong("statedb"), help: ArgumentHelp("The worker's --statedb: the StateDB step is included when given.", valueName: "file"))
    var statedb: String?

    @Flag(name: .customLong("without-mingle"), help: "The worker's --without-mingle: the Mingle step is left out.")
    var withoutMingle = false

    @Flag(name: .customLong("without-gossip"), help: "The worker's --without-gossip: the Gossip step is left out.")
    var withoutGossip = false

    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        for b in blueprints where !["worker", "consumer"].contains(b.lowercased()) {
            throw ValidationError("unknown blueprint '\(b)' (use worker, consumer or both)")
        }
        if queueList.isEmpty { throw ValidationError("-Q needs at least one queue name") }
    }

    var queueList: [String] {
        queues.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    func run() throws {
        try plugins.bootstrapLogging()
        let registry = Registry()
        // As the worker: what is refused is left out, and said once each
        // (--task and --steps errors are returned, not logged, hence quiet).
        for e in plugins.loadAll(into: plugins.makeLoader(registry: registry, quiet: true)) {
            FileHandleOutput.stderr("warning: \(e.logLine); left out")
        }
        var options = WorkerOptions()
        options.queues = queueList
        options.nodeName = NodeName(hostname)
        options.metricsPort = metricsPort
        options.statedb = statedb
        options.withoutMingle = withoutMingle
        options.withoutGossip = withoutGossip
        let described: [BlueprintDescription]
        do {
            described = try Bootsteps.describe(options: options, registry: registry)
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitStatus.config
        }
        let wanted = Set(blueprints.map { $0.lowercased() })
        let shown = wanted.isEmpty ? described : described.filter { wanted.contains($0.name.lowercased()) }
        print(BlueprintGraph.render(shown, format: format == .dot ? .dot : .text), terminator: "")
    }
}
