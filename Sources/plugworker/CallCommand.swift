import ArgumentParser
import PlugworkerClient
import PlugworkerWorker

/// `plugworker call TASK [ARGS...]`: send a task as a Python client would
/// (protocol 2, rpc:// reply queue) and print its result. Built on
/// `PlugworkerClient`, the library any Swift program can use the same way.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send a task to the workers and print its JSON result.",
        discussion: """
            Each ARG is read as JSON if it parses (2, 2.5, true, "text", [1, 2]) and as a string
            otherwise. With --link, the callback's result is printed on the next line (the callback
            gets the task's result as its first argument). Exit status: 0 with the result on stdout;
            1 when the task (or a callback) failed (the exception on stderr); 2 when no result came
            within --timeout; 69 when the broker cannot be reached.
            """
    )

    @OptionGroup var call: TaskArguments

    @Option(help: "Seconds to wait before the task may start (sets the eta).")
    var countdown: Double?

    @Option(help: "Seconds after which the task must not run any more.")
    var expires: Double?

    @Option(help: "Message priority, 0-9.")
    var priority: UInt8?

    @Option(name: .customLong("time-limit"), help: "Hard time limit in seconds.")
    var timeLimit: Double?

    @Option(name: .customLong("soft-time-limit"), help: "Soft time limit in seconds.")
    var softTimeLimit: Double?

    @Option(help: ArgumentHelp("A callback run after success, as 'TASK [ARGS...]' (repeatable).", valueName: "task args"))
    var link: [String] = []

    @Option(help: "The queue to send it to.")
    var queue: String = "celery"

    @Option(help: "Seconds to wait for the result.")
    var timeout: Double = 30

    @Option(name: .long, help: ArgumentHelp("Broker URL (default: $CELERY_BROKER_URL or amqp://guest:guest@localhost:5672//).", valueName: "url"))
    var broker: String?

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        for l in link where l.split(separator: " ").isEmpty { throw ValidationError("--link needs a task name") }
    }

    var task: String { call.task }

    /// A `--link` value as a signature routed to the same queue, with a
    /// task id fixed now so that its result can be waited for.
    func callback(_ text: String) -> Signature {
        let words = text.split(separator: " ").map(String.init)
        let args = words.dropFirst().map { (try? JSON.parse(TaskArguments.jsonArgument($0))) ?? .string($0) }
        return Signature(words[0], args: args, options: TaskOptions(taskID: UUID4.make(), queue: queue))
    }

    func run() throws {
        let client: CeleryClient
        do {
            client = try CeleryClient(brokerURL: broker)
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitCode(69)
        }
        defer { client.close() }
        let callbacks = link.map(callback)
        let options = TaskOptions(countdown: countdown, expires: expires, priority: priority, queue: queue,
                                  timeLimit: timeLimit, softTimeLimit: softTimeLimit, link: callbacks)
        let args = (try? JSON.parse(call.argsJSON))?.arrayValue ?? []
        let kwargs = (try? JSON.parse(call.kwargs))?.objectValue ?? JSONObject()
        var results: [(String, AsyncResult)] = []
        do {
            results.append((task, try client.send(task, args: args, kwargs: kwargs, options: options)))
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitCode(69)
        }
        for c in callbacks { results.append((c.task, client.result(id: c.taskID!))) }
        let deadline = Timer.now() + timeout
        for (name, result) in results {
            do throws(ClientError) {
                let value = try result.get(timeout: max(0, deadline - Timer.now()))
                print(value.serialized)
            } catch {
                switch error.code {
                case .taskFailed:
                    FileHandleOutput.stderr(error.message)
                    throw ExitCode(1)
                case .timeout:
                    FileHandleOutput.stderr("TimeoutError: no result for \(name)[\(result.id)] within \(timeout)s (is a worker consuming '\(queue)'?)")
                    throw ExitCode(2)
                default:
                    FileHandleOutput.stderr(error.description)
                    throw ExitCode(69)
                }
            }
        }
    }
}
