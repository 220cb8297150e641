import PlugworkerCelery
import PlugworkerCore

/// Runs remote-control commands against a `ControlTarget` (spec §5): it
/// keeps the Lamport clock, decides whether this node acts, parses the
/// arguments, calls the target and shapes the reply payload exactly as a
/// Python worker's (`celery/worker/control.py`).
///
/// The worker's mailbox consumer does, per delivery:
///
///     let request = try PidboxRequest(delivery: d)      // or log the refusal
///     if let reply = ControlDispatcher.reply(to: request, target: self) {
///         publish(reply.exchange, reply.routingKey, reply.properties, reply.body)
///     }
///
/// Errors inside a command never escape: they become `{"error": text}`.
public enum ControlDispatcher {
    /// Old names Python still answers to, and the command each means.
    public static let aliases: [String: String] = [
        "dump_tasks": "registered", "dump_active": "active", "dump_reserved": "reserved",
        "dump_schedule": "scheduled", "dump_revoked": "revoked", "dump_conf": "conf",
    ]

    /// Every command answered (besides the aliases).
    public static let commands: [String] = [
        "ping", "registered", "active", "reserved", "scheduled", "query_task", "revoked", "stats",
        "active_queues", "conf", "report", "clock", "hello", "revoke", "terminate", "revoke_by_stamped_headers",
        "rate_limit", "time_limit", "pool_grow", "pool_shrink", "autoscale", "pool_restart", "add_consumer",
        "cancel_consumer", "enable_events", "disable_events", "heartbeat", "election", "shutdown", "objgraph",
        "memsample", "memdump", "plugins",
    ]

    /// Handles one request completely: clock, selection, the command, and
    /// the reply message.
    /// - Returns: the reply to publish, or nil when none is due (another
    ///   node's request, a cast, `shutdown`).
    public static func reply(to request: PidboxRequest, target: ControlTarget) -> PidboxReply? {
        guard let payload = handle(request, target: target), let replyTo = request.replyTo else { return nil }
        return PidboxReply(replyTo: replyTo, ticket: request.ticket, node: target.nodeName, payload: payload,
                           clock: target.forwardClock())
    }

    /// Moves the clock past the request's (every request, §0.3), then, if
    /// this node is selected (`PidboxRequest.matches(node:)`), performs the
    /// command.
    /// - Returns: the reply payload; nil when no reply is due: the request
    ///   selects other nodes, it is a cast (performed all the same), or it
    ///   is `shutdown`. `heartbeat` answers JSON `null`, which is a reply.
    public static func handle(_ request: PidboxRequest, target: ControlTarget) -> JSON? {
        target.adjustClock(request.clock ?? 0)
        guard request.matches(node: target.nodeName) else { return nil }
        let payload = perform(request.method, arguments: request.arguments, target: target)
        return request.isCall ? payload : nil
    }

    /// Performs one command and returns its payload (nil only for
    /// `shutdown`). Unknown methods answer `{"error": "KeyError('name')"}`.
    public static func perform(_ method: String, arguments: JSONObject, target: ControlTarget) -> JSON? {
        do {
            return try run(aliases[method] ?? method, arguments: Arguments(method: method, values: arguments),
                           target: target)
        } catch {
            return Self.error(error.text)
        }
    }

    static func ok(_ text: String) -> JSON { .object(JSONObject([.init("ok", .string(text))])) }
    static func error(_ text: String) -> JSON { .object(JSONObject([.init("error", .string(text))])) }

    // MARK: Commands

    static func run(_ method: String, arguments a: Arguments, target: ControlTarget) throws(ControlError) -> JSON? {
        switch method {
        case "ping":
            return ok("pong")
        case "registered":
            return registered(a, target: target)
        case "active":
            let safe = try a.bool("safe") ?? false
            return .array(target.active().map { $0.json(safe: safe) })
        case "reserved":
            let safe = try a.bool("safe") ?? false
            return .array(target.reserved().map { $0.json(safe: safe) })
        case "scheduled":
            return .array(target.scheduled().map { item in
                .object(JSONObject([
                    .init("eta", .string(item.eta)),
                    .init("priority", .int(Int64(item.priority))),
                    .init("request", item.request.json()),
                ]))
            })
        case "query_task":
            return queryTask(ids: try a.stringList("ids"), target: target)
        case "revoked":
            return .array(target.revoked().map(JSON.string))
        case "stats":
            return target.stats().json(clock: target.clock)
        case "active_queues":
            return .array(target.activeQueues().map(\.json))
        case "conf":
            let withDefaults = try a.bool("with_defaults") ?? false
            return .object(SettingsCensor.censor(target.conf(withDefaults: withDefaults)))
        case "report":
            let stats = target.stats()
            let report = ControlReport(node: target.nodeName, pid: stats.pid, broker: stats.broker,
                                       plugins: target.plugins(), settings: target.conf(withDefaults: false))
            return ok(report.text)
        case "clock":
            return .object(JSONObject([.init("clock", .int(Int64(target.clock)))]))
        case "hello":
            return try hello(a, target: target)
        case "revoke":
            return revoke(ids: try a.stringList("task_id"), terminate: try a.bool("terminate") ?? false,
                          signal: a["signal"], target: target)
        case "terminate":
            return revoke(ids: try a.stringList("task_id"), terminate: true, signal: a["signal"], target: target)
        case "revoke_by_stamped_headers":
            throw ControlError("NotImplementedError('revoke_by_stamped_headers is not supported by plugworker')")
        case "rate_limit":
            return try rateLimit(a, target: target)
        case "time_limit":
            let task = try a.string("task_name") ?? ""
            try target.timeLimit(task: task, soft: try a.double("soft"), hard: try a.double("hard"))
            return ok("time limits set successfully")
        case "pool_grow":
            try target.poolGrow(try a.int("n") ?? 1)
            return ok("pool will grow")
        case "pool_shrink":
            try target.poolShrink(try a.int("n") ?? 1)
            return ok("pool will shrink")
        case "autoscale":
            let limits = try target.autoscale(max: try a.int("max"), min: try a.int("min"))
            return ok("autoscale now max=\(limits.max) min=\(limits.min)")
        case "pool_restart":
            throw ControlError("ValueError('Pool restarts not enabled')")
        case "add_consumer":
            let queue = try a.required("queue")
            var options = a.values
            for key in ["queue", "exchange", "exchange_type", "routing_key"] { options[key] = nil }
            target.addConsumer(queue: queue, exchange: try a.string("exchange"),
                               exchangeType: try a.string("exchange_type") ?? "direct",
                               routingKey: try a.string("routing_key"), options: options)
            return ok("add consumer \(queue)")
        case "cancel_consumer":
            let queue = try a.required("queue")
            target.cancelConsumer(queue: queue)
            return ok("no longer consuming from \(queue)")
        case "enable_events":
            return ok(target.enableEvents() ? "task events already enabled" : "task events enabled")
        case "disable_events":
            return ok(target.disableEvents() ? "task events already disabled" : "task events disabled")
        case "heartbeat":
            target.sendHeartbeat()
            return .null
        case "election":
            // Elections run over gossip (§7.2), which this worker does not
            // take part in; Python's reply carries nothing either.
            return .null
        case "shutdown":
            target.shutdown(message: try a.string("msg") ?? "Got shutdown from remote")
            return nil
        case "plugins":
            return .array(target.pluginListing().map(pluginJSON))
        case "objgraph", "memsample", "memdump":
            throw ControlError("NotImplementedError('\(method) is a Python debugging aid, not available in plugworker')")
        default:
            throw ControlError("KeyError(\(PythonRepr.string(method)))")
        }
    }

    /// `registered`: sorted names, each with `[attr=value …]` for the
    /// requested attributes that are set (default: exchange, routing_key,
    /// rate_limit, as Python).
    static func registered(_ a: Arguments, target: ControlTarget) -> JSON {
        var items: [String] = []
        if case .array(let requested)? = a["taskinfoitems"] {
            for case .string(let s) in requested where !items.contains(s) { items.append(s) }
        } else if case .string(let s)? = a["taskinfoitems"] {
            items = [s]
        }
        if items.isEmpty { items = ["exchange", "routing_key", "rate_limit"] }
        let builtins = (try? a.bool("builtins")) ?? false
        let tasks = target.registeredTasks()
            .filter { builtins || !$0.name.hasPrefix("celery.") }
            .sorted { $0.name < $1.name }
        return .array(tasks.map { task in
            let fields = items.compactMap { item in
                task.options.first(where: { $0.0 == item }).map { "\(item)=\($0.1)" }
            }
            return .string(fields.isEmpty ? task.name : "\(task.name) [\(fields.joined(separator: " "))]")
        })
    }

    /// `plugins` (plugworker's own): one object per module or refused file:
    /// name, version, path, original_path, abi, status (loaded, replaced,
    /// removed, refused), error (`{code, name, message, detail, hint}` or
    /// null) and tasks.
    static func pluginJSON(_ p: PluginListing) -> JSON {
        let error: JSON = p.error.map { e in
            .object(JSONObject([
                .init("code", .string("PW\(e.code.number)")), .init("name", .string(e.code.name)),
                .init("message", .string(e.message)), .init("detail", .string(e.detail)), .init("hint", .string(e.hint)),
            ]))
        } ?? .null
        return .object(JSONObject([
            .init("name", .string(p.name)),
            .init("version", p.version.map(JSON.string) ?? .null),
            .init("path", .string(p.path)),
            .init("original_path", p.originalPath.map(JSON.string) ?? .null),
            .init("abi", .string(p.abi)),
            .init("status", .string(p.status)),
            .init("error", error),
            .init("tasks", .array(p.tasks.map(JSON.string))),
        ]))
    }

    /// `query_task`: `{id: [state, info]}` for the ids this worker holds.
    static func queryTask(ids: [String], target: ControlTarget) -> JSON {
        var out = JSONObject()
        guard !ids.isEmpty else { return .object(out) }
        var found: [String: (String, RequestInfo)] = [:]
        for r in target.scheduled() { found[r.request.id] = ("scheduled", r.request) }
        for r in target.reserved() { found[r.id] = ("reserved", r) }
        for r in target.active() { found[r.id] = ("active", r) }
        for id in ids where out[id] == nil {
            if let hit = found[id] { out[id] = [.string(hit.0), hit.1.json()] }
        }
        return .object(out)
    }

    /// `revoke` and `terminate`: Python's texts, ids in the order given.
    static func revoke(ids given: [String], terminate: Bool, signal: JSON?, target: ControlTarget) -> JSON {
        var ids: [String] = []
        for id in given where !ids.contains(id) { ids.append(id) }
        guard terminate else {
            _ = target.revoke(ids: ids, terminate: false, signal: 0)
            let set = ids.isEmpty ? "set()" : "{" + ids.map(PythonRepr.string).joined(separator: ", ") + "}"
            return ok("tasks \(set) flagged as revoked")
        }
        let signum: Int32
        do {
            signum = try SignalNumber.parse(signal)
        } catch {
            // Python records the revocation before it reads the signal.
            _ = target.revoke(ids: ids, terminate: false, signal: 0)
            return Self.error(error.text)
        }
        let terminated = target.revoke(ids: ids, terminate: true, signal: signum)
        return ok(terminated.isEmpty ? "terminate: tasks unknown" : "terminate: " + terminated.joined(separator: ", "))
    }

    /// `rate_limit`: the rate is checked before the task, as in Python.
    static func rateLimit(_ a: Arguments, target: ControlTarget) throws(ControlError) -> JSON {
        let text: String
        switch a["rate_limit"] {
        case nil, .null?: text = ""
        case .string(let s)?: text = s
        case .int(let n)?: text = String(n)
        case .double(let d)?: text = PythonRepr.float(d)
        case let other?: throw ControlError("Invalid rate limit string: TypeError('rate limit must be a string, not \(other.pythonTypeName)')")
        }
        let rate: RateLimit?
        do {
            rate = try RateLimit(parsing: text)
        } catch {
            throw ControlError("Invalid rate limit string: " + pythonRateError(text))
        }
        try target.rateLimit(task: try a.string("task_name") ?? "", rate: rate)
        let disabled = text.isEmpty || a["rate_limit"] == .int(0)  // Python: `if not rate_limit`
        return ok(disabled ? "rate limit disabled successfully" : "new rate limit set successfully")
    }

    /// The repr of the exception kombu's `rate()` raises for a bad string.
    static func pythonRateError(_ text: String) -> String {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let count = parts[0].filter { $0 != " " }
        if Double(count) == nil {
            return "ValueError(" + PythonRepr.string("could not convert string to float: " + PythonRepr.string(String(parts[0]))) + ")"
        }
        return "KeyError(" + PythonRepr.string(parts.count > 1 ? String(parts[1]) : "") + ")"
    }

    /// `hello` (mingle): null to yourself; else merge and answer.
    static func hello(_ a: Arguments, target: ControlTarget) throws(ControlError) -> JSON {
        let from = try a.required("from_node")
        if from == target.nodeName { return .null }
        // A list of ids, or before 5.7 a LimitedSet dump {id: [time, id]}.
        let answer = target.hello(fromNode: from, revoked: MingleSync.ids(a["revoked"]))
        return .object(JSONObject([
            .init("revoked", .array(answer.revoked.map(JSON.string))),
            .init("clock", .int(Int64(answer.clock))),
        ]))
    }
}

extension ControlDispatcher {
    /// A command's keyword arguments with Python-like typing: a wrong type
    /// throws the `TypeError` text a Python worker would reply with.
    struct Arguments {
        let method: String
        let values: JSONObject

        subscript(key: String) -> JSON? { values[key] }

        func typeError(_ key: String, _ expected: String) -> ControlError {
            let got = values[key]?.pythonTypeName ?? "NoneType"
            return ControlError("TypeError(" + PythonRepr.string("\(method)() argument '\(key)' must be \(expected), not \(got)") + ")")
        }

        /// A string argument; nil when absent or null.
        func string(_ key: String) throws(ControlError) -> String? {
            switch values[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw typeError(key, "str")
            }
        }

        /// A string argument the command cannot do without.
        func required(_ key: String) throws(ControlError) -> String {
            guard let s = try string(key) else {
                throw ControlError("TypeError(" + PythonRepr.string("\(method)() missing 1 required positional argument: '\(key)'") + ")")
            }
            return s
        }

        /// An integer argument (integral floats and digit strings too).
        func int(_ key: String) throws(ControlError) -> Int? {
            switch values[key] {
            case nil, .null?: return nil
            case .int(let v)?: if let i = Int(exactly: v) { return i }
            case .double(let d)?: if d.isFinite, d == d.rounded(), d.magnitude < 9.0e15 { return Int(d) }
            case .string(let s)?: if let i = Int(s) { return i }
            default: break
            }
            throw typeError(key, "int")
        }

        /// A number argument (numeric strings too).
        func double(_ key: String) throws(ControlError) -> Double? {
            switch values[key] {
            case nil, .null?: return nil
            case .int, .uint, .double, .bigint: return values[key]?.doubleValue
            case .string(let s)?: if let d = Double(s) { return d }
            default: break
            }
            throw typeError(key, "float")
        }

        /// A flag: JSON booleans, numbers (non-zero is true) and the usual
        /// words (`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`).
        func bool(_ key: String) throws(ControlError) -> Bool? {
            switch values[key] {
            case nil, .null?: return nil
            case .bool(let b)?: return b
            case .int(let v)?: return v != 0
            case .string(let s)?:
                switch s.lowercased() {
                case "true", "yes", "y", "on", "1": return true
                case "false", "no", "n", "off", "0", "": return false
                default: break
                }
            default: break
            }
            throw typeError(key, "bool")
        }

        /// A list of strings; a single string counts as a one-item list
        /// (Python's `maybe_list`); absent or null is empty.
        func stringList(_ key: String) throws(ControlError) -> [String] {
            switch values[key] {
            case nil, .null?: return []
            case .string(let s)?: return [s]
            case .array(let items)?:
                var out: [String] = []
                for item in items {
                    guard case .string(let s) = item else { throw typeError(key, "a list of str") }
                    out.append(s)
                }
                return out
            default: throw typeError(key, "a list of str")
            }
        }
    }
}
