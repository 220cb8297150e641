import PlugworkerCore

/// How the `inspect` and `control` subcommands turn words typed after the
/// command name into a request's `arguments` (Celery's `Panel.meta` and
/// `_compile_arguments`): positional values fill the declared arguments in
/// order, converted to their types; a variadic command puts the rest in a
/// list (always sent, possibly empty, as Python does).
///
///     registered rate_limit acks_late → {"taskinfoitems": ["rate_limit", "acks_late"]}
///     rate_limit tasks.add 10/m       → {"task_name": "tasks.add", "rate_limit": "10/m"}
///     terminate SIGKILL id1 id2       → {"signal": "SIGKILL", "task_id": ["id1", "id2"]}
public struct ControlCommandSpec: Sendable {
    /// `inspect` commands ask; `control` commands act.
    public enum Kind: Sendable, Equatable {
        case inspect, control
    }

    /// How a typed word becomes JSON.
    public enum ArgumentType: Sendable, Equatable {
        case string, int, float, bool
    }

    public var name: String
    public var kind: Kind
    public var arguments: [(name: String, type: ArgumentType)]
    /// The argument that takes all remaining words as a list.
    public var variadic: String?
    /// Usage after the command name, e.g. `<task_name> <rate_limit>`.
    public var signature: String
    public var help: String

    public init(_ name: String, _ kind: Kind, _ arguments: [(name: String, type: ArgumentType)] = [],
                variadic: String? = nil, signature: String = "", help: String) {
        self.name = name
        self.kind = kind
        self.arguments = arguments
        self.variadic = variadic
        self.signature = signature
        self.help = help
    }

    /// The commands the CLI knows, in Celery's order within each kind.
    public static let all: [ControlCommandSpec] = [
        .init("active", .inspect, [("safe", .bool)], signature: "[safe=False]",
              help: "List of tasks currently being executed."),
        .init("active_queues", .inspect, help: "List the task queues a worker is currently consuming from."),
        .init("clock", .inspect, help: "Get current logical clock value."),
        .init("conf", .inspect, [("with_defaults", .bool)], signature: "[include_defaults=False]",
              help: "List configuration."),
        .init("hello", .inspect, [("from_node", .string)], signature: "<from_node>",
              help: "Request mingle sync-data."),
        .init("memdump", .inspect, [("samples", .int)], signature: "[n_samples=10]",
              help: "Dump statistics of previous memsample requests (not available)."),
        .init("memsample", .inspect, help: "Sample current RSS memory usage (not available)."),
        .init("objgraph", .inspect, [("type", .string), ("num", .int), ("max_depth", .int)],
              signature: "[object_type=Request] [num=200 [max_depth=10]]",
              help: "Create graph of uncollected objects (not available)."),
        .init("ping", .inspect, help: "Ping worker(s)."),
        .init("plugins", .inspect,
              help: "List plugin modules: name, version, path, ABI, status (loaded/replaced/removed/refused), error, tasks."),
        .init("query_task", .inspect, variadic: "ids", signature: "[id1 [id2 [... [idN]]]]",
              help: "Query for task information by id."),
        .init("registered", .inspect, variadic: "taskinfoitems", signature: "[attr1 [attr2 [... [attrN]]]]",
              help: "List of registered tasks."),
        .init("report", .inspect, help: "Information about the installation for bug reports."),
        .init("reserved", .inspect, help: "List of currently reserved tasks, not including scheduled/active."),
        .init("revoked", .inspect, help: "List of revoked task-ids."),
        .init("scheduled", .inspect, help: "List of currently scheduled ETA/countdown tasks."),
        .init("stats", .inspect, help: "Request worker statistics/information."),
        .init("add_consumer", .control,
              [("queue", .string), ("exchange", .string), ("exchange_type", .string), ("routing_key", .string)],
              signature: "<queue> [exchange [type [routing_key]]]",
              help: "Tell worker(s) to consume from task queue by name."),
        .init("autoscale", .control, [("max", .int), ("min", .int)], signature: "[max [min]]",
              help: "Modify autoscale settings."),
        .init("cancel_consumer", .control, [("queue", .string)], signature: "<queue>",
              help: "Tell worker(s) to stop consuming from task queue by name."),
        .init("disable_events", .control, help: "Tell worker(s) to stop sending task-related events."),
        .init("election", .control, [("id", .string), ("topic", .string), ("action", .string)],
              signature: "<id> <topic> <action>", help: "Hold election."),
        .init("enable_events", .control, help: "Tell worker(s) to send task-related events."),
        .init("heartbeat", .control, help: "Tell worker(s) to send event heartbeat immediately."),
        .init("ping", .control, help: "Ping worker(s)."),
        .init("pool_grow", .control, [("n", .int)], signature: "[N=1]", help: "Grow pool by n processes."),
        .init("pool_restart", .control, help: "Restart execution pool (not available)."),
        .init("pool_shrink", .control, [("n", .int)], signature: "[N=1]", help: "Shrink pool by n processes."),
        .init("rate_limit", .control, [("task_name", .string), ("rate_limit", .string)],
              signature: "<task_name> <rate_limit (e.g., 5/s | 5/m | 5/h)>",
              help: "Tell worker(s) to modify the rate limit for a task by type."),
        .init("revoke", .control, variadic: "task_id", signature: "[id1 [id2 [... [idN]]]]",
              help: "Revoke task by task id (or list of ids)."),
        .init("shutdown", .control, help: "Shutdown worker(s)."),
        .init("terminate", .control, [("signal", .string)], variadic: "task_id",
              signature: "<signal> [id1 [id2 [... [idN]]]]", help: "Terminate task by task id (or list of ids)."),
        .init("time_limit", .control, [("task_name", .string), ("soft", .float), ("hard", .float)],
              signature: "<task_name> <soft_secs> [hard_secs]",
              help: "Tell worker(s) to modify the time limit for task by type."),
    ]

    /// The command of this kind with this name (aliases such as
    /// `dump_tasks` resolve to their command's spec).
    public static func named(_ name: String, kind: Kind) -> ControlCommandSpec? {
        let canonical = ControlDispatcher.aliases[name] ?? name
        return all.first { $0.kind == kind && $0.name == canonical }
    }

    /// The command list for `--help`: `name signature  help`, one a line.
    public static func helpList(_ kind: Kind) -> String {
        all.filter { $0.kind == kind }.map { spec in
            let usage = spec.signature.isEmpty ? spec.name : spec.name + " " + spec.signature
            return "  " + usage + "\n      " + spec.help
        }.joined(separator: "\n")
    }

    /// Builds the request arguments from the words after the command name.
    /// - Throws: `ControlError` for too many words or a word that is not of
    ///   its argument's type.
    public func compile(_ words: [String]) throws(ControlError) -> JSONObject {
        var out = JSONObject()
        var rest = words[...]
        for (name, type) in arguments {
            guard let word = rest.first else { break }
            rest = rest.dropFirst()
            out[name] = try Self.convert(word, type, argument: name)
        }
        if let variadic {
            out[variadic] = .array(rest.map(JSON.string))
        } else if !rest.isEmpty {
            throw ControlError("Command '\(name)' takes arguments: \(signature.isEmpty ? "(none)" : signature)")
        }
        return out
    }

    static func convert(_ word: String, _ type: ArgumentType, argument: String) throws(ControlError) -> JSON {
        switch type {
        case .string:
            return .string(word)
        case .int:
            guard let v = Int64(word) else { throw ControlError("\(argument): '\(word)' is not an integer") }
            return .int(v)
        case .float:
            guard let v = Double(word), v.isFinite else { throw ControlError("\(argument): '\(word)' is not a number") }
            return .double(v)
        case .bool:
            switch word.lowercased() {
            case "true", "yes", "y", "on", "1": return true
            case "false", "no", "n", "off", "0": return false
            default: throw ControlError("\(argument): '\(word)' is not a boolean (true/false)")
            }
        }
    }
}
