#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PlugworkerBroker
import PlugworkerCore
import PlugworkerWorker

/// `plugworker inspect COMMAND [ARGS...]`: ask the workers (`celery inspect`).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Ask running workers questions (as celery inspect).",
        discussion: """
            Prints each node's reply as it arrives, then how many nodes answered. Exit
            status: 0 when at least one node replied; 69 when none replied within --timeout
            or the broker cannot be reached; 64 for an unknown command or bad arguments.

            Commands:
            \(ControlCommandSpec.helpList(.inspect))
            """
    )

    @Argument(help: "The command, e.g. ping, stats, registered, active, query_task.")
    var command: String

    @Argument(help: "The command's arguments (see the list below).")
    var arguments: [String] = []

    @OptionGroup var remote: RemoteControlOptions

    func run() throws {
        try RemoteControlRun(kind: .inspect, command: command, words: arguments, options: remote).run()
    }
}

/// The options `inspect` and `control` share.
struct RemoteControlOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Comma-separated node names to ask; all nodes by default.", valueName: "n1,n2"))
    var destination: String?

    @Option(name: [.short, .long], help: "Seconds to wait for replies.")
    var timeout: Double = 1

    @Flag(name: [.short, .long], help: "Print the replies as JSON.")
    var json = false

    @Option(help: ArgumentHelp("Select nodes whose name matches (with --matcher).", valueName: "pattern"))
    var pattern: String?

    @Option(help: ArgumentHelp("How --pattern matches: glob (shell-style) or pcre (regex).", valueName: "glob|pcre"))
    var matcher: String = "glob"

    @Option(name: .long, help: ArgumentHelp("Broker URL (default: $CELERY_BROKER_URL or amqp://guest:guest@localhost:5672//).", valueName: "url"))
    var broker: String?

    func validate() throws {
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if matcher != "glob" && matcher != "pcre" { throw ValidationError("--matcher must be glob or pcre") }
    }

    /// The destination list, nil for all nodes.
    var destinations: [String]? {
        guard let destination else { return nil }
        let names = destination.split(separator: ",").map { String($0).trimmedSpaces }.filter { !$0.isEmpty }
        return names.isEmpty ? nil : names
    }
}

/// One `inspect` or `control` run: compile the arguments, send the call,
/// print the replies as Celery's CLI does.
struct RemoteControlRun {
    let kind: ControlCommandSpec.Kind
    let command: String
    let words: [String]
    let options: RemoteControlOptions

    func run() throws {
        guard let spec = ControlCommandSpec.named(command, kind: kind) else {
            let names = ControlCommandSpec.all.filter { $0.kind == kind }.map(\.name).joined(separator: ", ")
            throw ValidationError("Command \(command) not recognized. Available \(kind) commands: \(names)")
        }
        let arguments: JSONObject
        do {
            arguments = try spec.compile(words)
        } catch {
            throw ValidationError(error.text)
        }
        let urlText = options.broker ?? getenv("CELERY_BROKER_URL").map { String(cString: $0) }
            ?? "amqp://guest:guest@localhost:5672//"
        let url = try BrokerURL(parsing: urlText)
        let conn = AMQPConnection(url: url, heartbeat: 0, connectionName: "plugworker \(kind)",
                                  tls: (try? TLSOptions.fromQuery(url.query)) ?? TLSOptions())
        let replies: [(node: String, payload: JSON)]
        do {
            try conn.connect(timeout: 10)
            defer { conn.close() }
            let client = ControlClient(connection: conn)
            let json = options.json
            replies = try client.call(command, arguments: arguments, destination: options.destinations,
                                      pattern: options.pattern, matcher: options.pattern == nil ? nil : options.matcher,
                                      timeout: options.timeout) { node, payload in
                if !json { Self.say(ControlOutput.reply(node: node, payload: payload)) }
            }
        } catch {
            FileHandleOutput.stderr(error.description)
            throw ExitCode(69)
        }
        guard !replies.isEmpty else {
            FileHandleOutput.stderr("Error: No nodes replied within time constraint")
            throw ExitCode(69)
        }
        if options.json {
            // inspect: the replies merged into one object; control: the
            // list of one-key objects (as celery's CLI prints them).
            switch kind {
            case .inspect:
                Self.say(JSON.object(JSONObject(replies.map { JSONObject.Member($0.node, $0.payload) })).serialized)
            case .control:
                Self.say(JSON.array(replies.map { .object(JSONObject([JSONObject.Member($0.node, $0.payload)])) }).serialized)
            }
        } else if kind == .inspect {
            Self.say(ControlOutput.summary(count: Set(replies.map(\.node)).count))
        }
    }

    /// Prints a line and flushes, so replies show as they come.
    static func say(_ text: String) {
        print(text)
        fflush(nil)
    }
}

extension String {
    fileprivate var trimmedSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
