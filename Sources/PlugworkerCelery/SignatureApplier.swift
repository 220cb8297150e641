import PlugworkerCore

/// A task message ready to publish, and where it goes.
public struct OutgoingTask: Sendable, Equatable {
    /// The message.
    public var message: TaskMessageEncoder
    /// The exchange to publish to (`""`: the default exchange).
    public var exchange: String
    /// The routing key (for the default exchange: the queue name).
    public var routingKey: String
    /// The queue to declare before publishing, as kombu declares it (a
    /// durable queue, a direct exchange of the same name, bound with the
    /// queue's name); nil when the signature named its own exchange.
    public var declareQueue: String?

    public init(message: TaskMessageEncoder, exchange: String, routingKey: String, declareQueue: String?) {
        self.message = message
        self.exchange = exchange
        self.routingKey = routingKey
        self.declareQueue = declareQueue
    }
}

/// Turns signatures into task messages, as Celery's `Signature.apply_async`
/// does (celery-wire §1.5 "How a worker publishes a signature"). Used by the
/// worker for callbacks, errbacks and chain steps (`Canvas`) and by
/// `PlugworkerClient` for everything it sends.
///
/// Options read (Python's `apply_async` names): `task_id`, `reply_to`,
/// `queue`, `exchange`, `routing_key`, `countdown`, `eta`, `expires`,
/// `time_limit`, `soft_time_limit`, `priority`, `shadow`, `headers`,
/// `ignore_result`, `group_id`, `group_index`, `link`, `link_error`,
/// `chain`. Options of the wrong type are ignored, as a value Python could
/// not have sent. A plain signature gives one message; a group one per
/// member, sharing a group id; a chain its first step, the remaining steps
/// (given ids and the reply queue up front, as Python freezes them) in its
/// embed, reversed.
public struct SignatureApplier: Sendable {
    /// The task that applies the signature (`parent_id`); nil from a client.
    public var parentID: String?
    /// The workflow's first task (`root_id`); nil: the new task itself.
    public var rootID: String?
    /// Where results go when the signature's options name no `reply_to`.
    public var replyTo: String?
    /// The sender's node name (`origin`).
    public var origin: String?
    /// The queue used when the signature names none (`task_default_queue`).
    public var defaultQueue = "celery"
    /// Makes task and group ids.
    public var newID: @Sendable () -> String = { UUID4.make() }
    /// The time `countdown` and numeric `expires` count from.
    public var now: Double = CeleryTime.now()

    public init(parentID: String? = nil, rootID: String? = nil, replyTo: String? = nil, origin: String? = nil,
                defaultQueue: String = "celery") {
        self.parentID = parentID
        self.rootID = rootID
        self.replyTo = replyTo
        self.origin = origin
        self.defaultQueue = defaultQueue
    }

    /// What applying a signature produced.
    public struct Application: Sendable, Equatable {
        /// The messages to publish, in order.
        public var tasks: [OutgoingTask] = []
        /// The entry for the applying task's `children`: the task, the
        /// group, or a chain's last step.
        public var child: ResultMessage.Child?
        /// Things that could not be applied, for the log.
        public var problems: [String] = []
    }

    /// Applies `signature` with `prefix` put before its args (unless it
    /// is immutable), as `sig.apply_async(prefix)`.
    /// - Parameters:
    ///   - chain: the remaining chain steps for the new message's embed
    ///     (reversed order, as on the wire); nil: the `chain` option.
    ///   - group: the group id and index to give a plain task.
    public func apply(_ signature: Signature, prefix: [JSON] = [], chain: [Signature]? = nil,
                      group: (id: String, index: Int)? = nil) -> Application {
        var out = Application()
        switch signature.subtaskType {
        case nil:
            let task = message(for: signature, prefix: prefix, chain: chain, group: group)
            out.tasks.append(task)
            out.child = .task(task.message.id)
        case "group"?:
            let members = signature.members ?? []
            let gid = signature.taskID ?? signature.option("group_id")?.stringValue ?? newID()
            var ids: [String] = []
            for (i, member) in members.enumerated() {
                let a = apply(merged(member, with: signature, keys: Self.groupInherited), prefix: prefix, group: (gid, i))
                out.tasks += a.tasks
                out.problems += a.problems
                if case .task(let id)? = a.child { ids.append(id) }
            }
            if let chain, !chain.isEmpty {
                out.problems.append("a group followed by more chain steps is a chord, which needs a result backend other than rpc://: the steps after the group were not sent")
            }
            out.child = .group(id: gid, members: ids)
        case "chain"?:
            var steps = (signature.members ?? []).map { merged($0, with: signature, keys: Self.chainInherited) }
            guard !steps.isEmpty else { return out }
            steps[0] = merged(steps[0], with: signature, keys: Self.groupInherited)
            // Freeze the later steps as Python does: each gets its id and
            // the reply queue now, so the client can wait for the last one.
            for i in steps.indices.dropFirst() {
                if steps[i].subtaskType == nil && steps[i].taskID == nil {
                    steps[i].options["task_id"] = .string(newID())
                }
                if steps[i].option("reply_to") == nil, let replyTo, !replyTo.isEmpty {
                    steps[i].options["reply_to"] = .string(replyTo)
                }
            }
            let rest = Array(steps.dropFirst().reversed()) + (chain ?? [])
            let a = apply(steps[0], prefix: prefix, chain: rest, group: group)
            out.tasks = a.tasks
            out.problems = a.problems
            if let lastID = steps.last?.taskID, steps.count > 1 { out.child = .task(lastID) } else { out.child = a.child }
        case let other?:
            out.problems.append("\(signature.task): a \(other) signature cannot be applied by plugworker (only tasks, groups and chains)")
        }
        return out
    }

    /// Options a group's members take from the group: all of its
    /// `apply_async` options, as Python passes them to each member.
    static let groupInherited = ["queue", "exchange", "routing_key", "priority", "reply_to", "time_limit",
                                 "soft_time_limit", "expires", "countdown", "eta", "headers"]
    /// Options a chain's steps take from the chain: only routing (a
    /// countdown on the chain delays its first step, not every step).
    static let chainInherited = ["queue", "exchange", "routing_key", "priority", "reply_to"]

    /// A member of a composite takes the composite's options in `keys`
    /// that it does not set itself.
    func merged(_ member: Signature, with parent: Signature, keys: [String]) -> Signature {
        var m = member
        for key in keys {
            if m.option(key) == nil, let v = parent.option(key) { m.options[key] = v }
        }
        return m
    }

    /// The message for a plain signature.
    public func message(for signature: Signature, prefix: [JSON] = [], chain: [Signature]? = nil,
                        group: (id: String, index: Int)? = nil) -> OutgoingTask {
        let s = signature
        let args = s.immutable ? s.args : prefix + s.args
        let id = s.taskID ?? newID()
        var e = TaskMessageEncoder(taskName: s.task, id: id, args: JSON.array(args).serializedBytes,
                                   kwargs: JSON.object(s.kwargs).serializedBytes)
        e.replyTo = s.option("reply_to")?.stringValue ?? replyTo
        e.parentID = parentID ?? s.option("parent_id")?.stringValue
        e.rootID = rootID ?? s.option("root_id")?.stringValue ?? id
        e.origin = origin
        if let group {
            e.group = group.id
            e.groupIndex = group.index
        } else {
            e.group = s.option("group_id")?.stringValue
            e.groupIndex = s.option("group_index")?.int64Value.flatMap { Int(exactly: $0) }
        }
        if let countdown = number(s.option("countdown")) {
            e.countdown = countdown
        } else if let eta = s.option("eta") {
            e.eta = time(eta)
        }
        if let expires = s.option("expires") {
            e.expires = number(expires).map { now + $0 } ?? time(expires)
        }
        e.timeLimit = TaskMessage.TimeLimit(hard: number(s.option("time_limit")), soft: number(s.option("soft_time_limit")))
        if let p = s.option("priority")?.int64Value { e.priority = UInt8(clamping: max(0, p)) }
        e.shadow = s.option("shadow")?.stringValue
        if case .bool(let b)? = s.option("ignore_result") { e.ignoreResult = b }
        if let headers = s.option("headers")?.objectValue { e.extraHeaders = headers }
        e.embed.callbacks = Signature.list(from: s.option("link")).map(\.json)
        e.embed.errbacks = Signature.list(from: s.option("link_error")).map(\.json)
        e.embed.chain = (chain ?? Signature.list(from: s.option("chain"))).map(\.json)
        // The Python client's `now` for countdown is the encoder's; keep ours.
        if e.countdown != nil {
            e.eta = now + e.countdown!
            e.countdown = nil
        }

        let queueName: String?
        switch s.option("queue") {
        case .string(let q)? where !q.isEmpty: queueName = q
        case .object(let o)?: queueName = o["name"]?.stringValue
        default: queueName = nil
        }
        if let exchange = s.option("exchange")?.stringValue ?? s.option("exchange")?["name"]?.stringValue {
            let key = s.option("routing_key")?.stringValue ?? queueName ?? defaultQueue
            return OutgoingTask(message: e, exchange: exchange, routingKey: key, declareQueue: nil)
        }
        let queue = queueName ?? defaultQueue
        return OutgoingTask(message: e, exchange: "", routingKey: queue, declareQueue: queue)
    }

    func number(_ v: JSON?) -> Double? {
        switch v {
        case .int?, .uint?, .double?: return v!.doubleValue
        default: return nil
        }
    }

    func time(_ v: JSON) -> Double? {
        (try? CeleryTime.parse(v)) ?? nil
    }
}
