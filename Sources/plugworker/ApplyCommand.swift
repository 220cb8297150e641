#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PlugworkerCore

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

    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        guard case .object? = try? JSON.parse(kwargs) else {
            throw ValidationError("--kwargs must be a JSON object, e.g. '{\"b\": 3}'")
        }
    }

    func run() throws {
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
