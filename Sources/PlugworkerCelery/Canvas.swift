import PlugworkerCore

/// What a worker publishes after a task ends, for the workflow the task's
/// message carries in its embed (celery-wire §4). Pure: it builds the
/// messages; the worker publishes them.
///
/// **After success** (§4.1), as Celery's tracer does: the link callbacks
/// (one callback alone; several as one new group, group-type callbacks each
/// on their own), then the next chain step (the *last* element of
/// `embed.chain`, with the rest of the list in its own embed), each with
/// the result put before its args unless immutable, `parent_id` = the task,
/// `root_id` = the task's root. The SUCCESS result lists them all in
/// `children`, so it is published after them.
///
/// **After failure** (§4.2), as Celery's `mark_as_failure` does: the same
/// FAILURE for every remaining chain step that has a frozen
/// `options.task_id`, to its `options.reply_to` (so `chain(...).get()`
/// raises on the client), then the errbacks, published together as one
/// group with `args = [failed task id] + their args`. A Python worker
/// calls errbacks taking `(request, exc, traceback)` in-process; a native
/// worker cannot, so every errback goes out old-style.
///
/// Callbacks and errbacks have no `reply_to` of their own; plugworker gives
/// them the parent's, so the client that sent the parent can read their
/// results (a Python worker gives them its own process's queue, where
/// nobody reads; the wire notes found both compatible).
public enum Canvas {
    /// Messages to publish after a success, and the result's children.
    public struct SuccessPlan: Sendable, Equatable {
        /// Callbacks, then the next chain step.
        public var tasks: [OutgoingTask] = []
        /// For the SUCCESS result's `children`.
        public var children: [ResultMessage.Child] = []
        /// Signatures that could not be applied, for the log.
        public var problems: [String] = []
    }

    /// What to publish after a failure.
    public struct FailurePlan: Sendable, Equatable {
        /// FAILURE results for the remaining chain steps: (reply queue, result).
        public var chainResults: [(queue: String, result: ResultMessage)] = []
        /// The errback messages.
        public var errbacks: [OutgoingTask] = []
        /// Signatures that could not be applied, for the log.
        public var problems: [String] = []

        public static func == (a: FailurePlan, b: FailurePlan) -> Bool {
            a.errbacks == b.errbacks && a.problems == b.problems
                && a.chainResults.map(\.queue) == b.chainResults.map(\.queue)
                && a.chainResults.map(\.result) == b.chainResults.map(\.result)
        }
    }

    /// The applier for signatures published by `request`'s task.
    public static func applier(for request: TaskMessage, origin: String?, defaultQueue: String,
                               now: Double) -> SignatureApplier {
        var a = SignatureApplier(parentID: request.id, rootID: request.rootID ?? request.id,
                                 replyTo: request.replyTo, origin: origin, defaultQueue: defaultQueue)
        a.now = now
        return a
    }

    /// The callbacks and next chain step after `request` returned `result`
    /// (JSON text; empty means null).
    public static func afterSuccess(of request: TaskMessage, result: [UInt8], origin: String?,
                                    defaultQueue: String = "celery", newID: (@Sendable () -> String)? = nil,
                                    now: Double = CeleryTime.now()) -> SuccessPlan {
        var plan = SuccessPlan()
        let embed = request.embed
        guard !embed.callbacks.isEmpty || !embed.chain.isEmpty else { return plan }
        var applier = applier(for: request, origin: origin, defaultQueue: defaultQueue, now: now)
        if let newID { applier.newID = newID }
        let retval: JSON
        if result.isEmpty {
            retval = .null
        } else if let v = try? JSON.parse(result) {
            retval = v
        } else {
            retval = .null
            plan.problems.append("the task's result is not valid JSON; callbacks get None")
        }

        func add(_ a: SignatureApplier.Application) {
            plan.tasks += a.tasks
            plan.problems += a.problems
            if let child = a.child { plan.children.append(child) }
        }
        let callbacks = embed.callbacks.compactMap(Signature.init(json:))
        if callbacks.count < embed.callbacks.count {
            plan.problems.append("\(embed.callbacks.count - callbacks.count) callback(s) without a task name were skipped")
        }
        if callbacks.count == 1 {
            add(applier.apply(callbacks[0], prefix: [retval]))
        } else if callbacks.count > 1 {
            let groups = callbacks.filter { $0.subtaskType == "group" }
            let others = callbacks.filter { $0.subtaskType != "group" }
            for g in groups { add(applier.apply(g, prefix: [retval])) }
            if !others.isEmpty { add(applier.apply(.group(others), prefix: [retval])) }
        }
        if let nextJSON = embed.chain.last {
            if let next = Signature(json: nextJSON) {
                let rest = embed.chain.dropLast().compactMap(Signature.init(json:))
                add(applier.apply(next, prefix: [retval], chain: rest))
            } else {
                plan.problems.append("the next chain step has no task name; the chain stops here")
            }
        }
        return plan
    }

    /// The chain propagation and errbacks after `request` failed with
    /// `exception`.
    /// - Parameter storeResult: false when the task's results are ignored:
    ///   Celery then stores nothing, for the chain steps either.
    public static func afterFailure(of request: TaskMessage, exception: TaskException, traceback: String?,
                                    storeResult: Bool, origin: String?, defaultQueue: String = "celery",
                                    newID: (@Sendable () -> String)? = nil,
                                    now: Double = CeleryTime.now()) -> FailurePlan {
        var plan = FailurePlan()
        let embed = request.embed
        if storeResult {
            // In stored order (the last step first), as Python walks it.
            for stepJSON in embed.chain {
                guard let step = Signature(json: stepJSON), let id = step.taskID,
                      let queue = step.option("reply_to")?.stringValue, !queue.isEmpty else { continue }
                let result = ResultMessage(taskID: id, state: .failure(exception, traceback: traceback),
                                           correlationID: id, groupID: step.option("group_id")?.stringValue, now: now)
                plan.chainResults.append((queue, result))
            }
        }
        let errbacks = embed.errbacks.compactMap(Signature.init(json:))
        if !errbacks.isEmpty {
            var applier = applier(for: request, origin: origin, defaultQueue: defaultQueue, now: now)
            if let newID { applier.newID = newID }
            let a = applier.apply(.group(errbacks), prefix: [.string(request.id)])
            plan.errbacks = a.tasks
            plan.problems = a.problems
        }
        return plan
    }
}
