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

    @OptionGroup var call: TaskArguments

    @Option(help: "The task id the context reports.")
    var id: String = "00000000-0000-4000-8000-000000000000"

    @Flag(help: "Run the task in a pool process, as the worker does, not in this process.")
    var isolated = false

    @OptionGroup var plugins: PluginOptions

    var task: String { call.task }

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
        let argsJSON = call.argsJSON
        try Self.runRetrying { retries in
            native.invoke(argsJSON: argsJSON, kwargsJSON: call.kwargs, context: TaskContext(id: id, taskName: task, retries: retries))
        }
    }

    /// Runs attempts until one succeeds (the result goes to stdout) or fails
    /// (the exception to stderr, exit 1); a retry waits for its countdown.
    static func runRetrying(_ attempt: (_ retries: Int64) throws -> TaskOutcome) throws {
        var retries: Int64 = 0
        while true {
            switch try attempt(retries) {
            case .success(let bytes):
                print(String(decoding: bytes, as: UTF8.self))
                return
            case .failure(let exception):
                FileHandleOutput.stderr(exception.commandLine)
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
        let argsJSON = Array(call.argsJSON.utf8)
        var seq: UInt64 = 0
        try Self.runRetrying { retries in
            // A process that is ready, or the reason none will ever be.
            while pool.idleCount == 0 {
                if !pool.healthy && pool.processes.isEmpty {
                    // The pool has logged why (and each death before it).
                    FileHandleOutput.stderr("cannot run \(task): no pool process could be started (see the log above)")
                    throw ExitStatus.config
                }
                _ = pool.pollEvents(timeout: 1)
            }
            seq += 1
            let job = PoolJob(seq: seq, taskID: id, taskName: task, retries: retries,
                              args: argsJSON, kwargs: Array(call.kwargs.utf8))
            guard pool.dispatch(job) != nil else { throw ExitStatus.failure }
            while true {
                for event in pool.pollEvents(timeout: 1) {
                    switch event {
                    case .completed(seq, .failure(let e), _, _) where e.type == "NotRegistered" && e.module == "celery.exceptions":
                        FileHandleOutput.stderr("NotRegistered: '\(task)'")
                        throw ExitStatus.config
                    case .completed(seq, let result, _, _): return result
                    case .lost(seq, _, let exception): return .failure(exception)
                    default: break
                    }
                }
            }
        }
    }
}

/// Writes a line to standard error.
enum FileHandleOutput {
    static func stderr(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
}
