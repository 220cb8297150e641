#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore
import PlugworkerWorker

/// `plugworker call TASK [ARGS...]`: send a task as a Python client would
/// (protocol 2, rpc:// reply queue) and print its result.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send a task to the workers and print its JSON result.",
        discussion: """
            Each ARG is read as JSON if it parses (2, 2.5, true, "text", [1, 2]) and as a string
            otherwise. Exit status: 0 with the result on stdout; 1 when the task failed (the
            exception on stderr); 2 when no result came within --timeout; 69 when the broker
            cannot be reached.
            """
    )

    @OptionGroup var call: TaskArguments

    @Option(help: "Seconds to wait before the task may start (sets the eta).")
    var countdown: Double?

    @Option(help: "The queue to send it to.")
    var queue: String = "celery"

    @Option(help: "Seconds to wait for the result.")
    var timeout: Double = 30

    @Option(name: .long, help: ArgumentHelp("Broker URL (default: $CELERY_BROKER_URL or amqp://guest:guest@localhost:5672//).", valueName: "url"))
    var broker: String?

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    var task: String { call.task }

    func run() throws {
        let urlText = broker ?? getenv("CELERY_BROKER_URL").map { String(cString: $0) } ?? "amqp://guest:guest@localhost:5672//"
        let url = try BrokerURL(parsing: urlText)
        let conn = AMQPConnection(url: url, heartbeat: 0, connectionName: "plugworker call",
                                  tls: (try? TLSOptions.fromQuery(url.query)) ?? TLSOptions())
        let id = UUID4.make()
        let replyQueue = UUID4.make()
        do {
            try conn.connect(timeout: 10)
            // The task queue as Python clients declare it; a private reply queue.
            try conn.exchangeDeclare(name: queue, type: "direct", durable: true, autoDelete: false)
            _ = try conn.queueDeclare(name: queue, durable: true, exclusive: false, autoDelete: false)
            try conn.queueBind(queue: queue, exchange: queue, routingKey: queue)
            _ = try conn.queueDeclare(name: replyQueue, durable: false, exclusive: true, autoDelete: true)
            _ = try conn.basicConsume(queue: replyQueue, noAck: true)
            var message = TaskMessageEncoder(taskName: task, id: id, args: Array(call.argsJSON.utf8), kwargs: Array(call.kwargs.utf8))
            message.replyTo = replyQueue
            message.countdown = countdown
            message.origin = "gen\(getpid())@\(NodeName.hostname())"
            let (properties, body) = message.encode()
            try conn.basicPublish(exchange: "", routingKey: queue, properties: properties, body: body)
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitCode(69)
        }
        defer { conn.close() }
        let deadline = Timer.now() + timeout
        while Timer.now() < deadline {
            let event: BrokerEvent?
            do {
                event = try conn.nextEvent(timeout: min(1, deadline - Timer.now()))
            } catch {
                FileHandleOutput.stderr(error.description)
                throw ExitCode(69)
            }
            guard case .delivery(let d)? = event, d.properties.correlationID == id,
                  let result = try? JSON.parse(d.body), let status = result["status"]?.stringValue else { continue }
            switch status {
            case "SUCCESS":
                print((result["result"] ?? .null).serialized)
                return
            case "FAILURE", "REVOKED":
                let exc = result["result"]
                let type = exc?["exc_type"]?.stringValue ?? status
                let module = exc?["exc_module"]?.stringValue ?? ""
                let message = exc?["exc_message"]?.arrayValue?.compactMap { $0.stringValue ?? $0.serialized }.joined(separator: ", ")
                    ?? exc?["exc_message"]?.serialized ?? ""
                FileHandleOutput.stderr("\(module.isEmpty || module == "builtins" ? "" : module + ".")\(type): \(message)")
                throw ExitCode(1)
            default:
                continue  // STARTED, RETRY, PROGRESS: not ready yet
            }
        }
        FileHandleOutput.stderr("TimeoutError: no result for \(task)[\(id)] within \(timeout)s (is a worker consuming '\(queue)'?)")
        throw ExitCode(2)
    }
}
