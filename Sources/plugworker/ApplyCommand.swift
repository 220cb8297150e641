#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import PlugworkerCore
import PlugworkerPool

/// `plugworker apply TASK [ARGS...]`: run a task here, in this process, with
/// no broker — Celery's `Task.apply()`. The quickest way to try a plugin,
/// and the same call path the pool processes use.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Run a task locally, without a broker, and print its JSON result.",
        discussion: """
            Each ARG is read as JSON if it parses (2, 2.5, true, "text", [1, 2]) and as a
            string otherwise. Retries the task asks for run here too, after their countdown.
            Exit status: 0 on success, 1 when the task fails (the exception goes to stderr).

            With --isolated the task runs in a pool process, forked through the zygote as
            the worker's are, which loads the plugins itself: a task that crashes fails with
            WorkerLostError instead of taking the command down, and a plugin whose init
            crashes is reported (exit status 78) after the pool's restart cap trips.
            """
    )

    @Argument(help: "The task name, e.g. arith.add.")
    var task: String

    @Argument(help: "Positional arguments.")
    var args: [String] = []

    @Option(help: "Keyword arguments as a JSON object.")
    var kwargs: String = "{}"

    @Option(help: "The task id the context reports.")
    var id: String = "00000000-0000-4000-8000-000000000000"

    @Flag(help: "Run the task in a pool process, as the worker does, not in this process.")
    var isolated = false

    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        guard case .object? = try? JSON.parse(kwargs) else {
            throw ValidationError("--kwargs must be a JSON object, e.g. '{\"b\": 3}'")
        }
    }

    func run() throws {
        if isolated { return try runIsolated() }
        try plugins.bootstrapLogging()
        let registry = Registry()
        let errors = plugins.loadAll(into: plugins.makeLoader(registry: registry))
        guard let native = registry.task(named: task) else {
            for e in errors { FileHandleOutput.stderr(e.description) }
            FileHandleOutput.stderr("NotRegistered: '\(task)' (registered: \(registry.taskNames.joined(separator: ", ")))")
            throw ExitStatus.config
        }
        let argsJSON = "[" + args.map(Self.jsonArgument).joined(separator: ", ") + "]"
        var retries: Int64 = 0
        while true {
            let context = TaskContext(id: id, taskName: task, retries: retries)
            switch native.invoke(argsJSON: argsJSON, kwargsJSON: kwargs, context: context) {
            case .success(let bytes):
                print(String(decoding: bytes, as: UTF8.self))
                return
            case .failure(let exception):
                FileHandleOutput.stderr("\(exception.module == "builtins" ? "" : exception.module + ".")\(exception.type): \(exception.message)")
                throw ExitStatus.failure
            case .retry(let countdown, let reason):
                FileHandleOutput.stderr("Retry in \(countdown)s: \(reason ?? "retry requested")")
                usleep(UInt32(min(countdown, 3600) * 1_000_000))
                retries += 1
            }
        }
    }

    /// `--isolated`: the task runs in a pool process of a one-process pool.
    /// The zygote is forked before this process loads anything (it loads no
    /// plugin at all: the pool process does, with the same options), so a
    /// plugin that crashes in init or in the task cannot take it down.
    func runIsolated() throws {
        try plugins.bootstrapLogging()
        let options = plugins
        let zygote: Zygote
        do {
            zygote = try Zygote.start {
                let registry = Registry()
                _ = options.loadAll(into: options.makeLoader(registry: registry))
                return PoolProcess.Runtime(registry: registry)
            }
        } catch {
            FileHandleOutput.stderr("\(error)")
            throw ExitStatus.failure
        }
        let pool = Pool(zygote: zygote, concurrency: 1)
        defer {
            _ = pool.waitUntilStopped(timeout: 10)
            zygote.stop()
        }
        pool.start()
        let argsJSON = Array(("[" + args.map(Self.jsonArgument).joined(separator: ", ") + "]").utf8)
        var retries: Int64 = 0
        var seq: UInt64 = 0
        while true {
            // A process that is ready, or the reason none will ever be.
            while pool.idleCount == 0 {
                if !pool.healthy && pool.processes.isEmpty {
                    // The pool has logged why (and each death before it).
                    FileHandleOutput.stderr("cannot run \(task): no pool process could be started (see the log above)")
                    throw ExitStatus.config
                }
                _ = pool.pollEvents(timeout: 1)
            }
            let job = PoolJob(seq: seq, taskID: id, taskName: task, retries: retries,
                              args: argsJSON, kwargs: Array(kwargs.utf8))
            guard pool.dispatch(job) != nil else { continue }
            var outcome: TaskOutcome?
            while outcome == nil {
                for event in pool.pollEvents(timeout: 1) {
                    switch event {
                    case .completed(seq, let result, _, _): outcome = result
                    case .lost(seq, _, let exception): outcome = .failure(exception)
                    default: break
                    }
                }
            }
            switch outcome! {
            case .success(let bytes):
                print(String(decoding: bytes, as: UTF8.self))
                return
            case .failure(let exception) where exception.type == "NotRegistered" && exception.module == "celery.exceptions":
                FileHandleOutput.stderr("NotRegistered: '\(task)'")
                throw ExitStatus.config
            case .failure(let exception) where exception.type == "WorkerLostError":
                FileHandleOutput.stderr("\(exception.type): \(exception.message)")
                throw ExitStatus.failure
            case .failure(let exception):
                FileHandleOutput.stderr("\(exception.module == "builtins" ? "" : exception.module + ".")\(exception.type): \(exception.message)")
                throw ExitStatus.failure
            case .retry(let countdown, let reason):
                FileHandleOutput.stderr("Retry in \(countdown)s: \(reason ?? "retry requested")")
                usleep(UInt32(min(countdown, 3600) * 1_000_000))
                retries += 1
                seq += 1
            }
        }
    }

    /// An argument as JSON: itself if it parses, else a JSON string.
    static func jsonArgument(_ text: String) -> String {
        if (try? JSON.parse(text)) != nil { return text }
        return JSON.string(text).serialized
    }
}

/// Writes a line to standard error.
enum FileHandleOutput {
    static func stderr(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
}
