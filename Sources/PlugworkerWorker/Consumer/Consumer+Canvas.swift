import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// Canvas (celery-wire §4): link callbacks, chain steps and errbacks,
/// published on the worker's own connection when a task ends. `Canvas`
/// decides what to publish; this publishes it.
extension Consumer {
    /// The queue for signatures that name none: Celery's
    /// `task_default_queue`, as a Python worker uses it.
    static let defaultQueue = "celery"

    /// Publishes the callbacks and the next chain step of a task that
    /// returned `result`; returns them for the SUCCESS result's `children`.
    func dispatchCallbacks(of request: Request, result: [UInt8]) -> [ResultMessage.Child] {
        let m = request.message
        guard !m.embed.callbacks.isEmpty || !m.embed.chain.isEmpty else { return [] }
        let plan = Canvas.afterSuccess(of: m, result: result, origin: options.nodeName.name, defaultQueue: Self.defaultQueue)
        for problem in plan.problems { logger.warning("Task \(request.label): \(problem)") }
        for task in plan.tasks {
            logger.debug("Task \(request.label): sending \(task.message.taskName)[\(task.message.id)] to \(task.routingKey)")
            publishTask(task)
        }
        return plan.children
    }

    /// After a failure: the same FAILURE for every remaining chain step (so
    /// the client's `chain.get()` raises), then the errbacks.
    func dispatchErrbacks(of message: TaskMessage, ignoreResult: Bool, exception: TaskException) {
        guard !message.embed.chain.isEmpty || !message.embed.errbacks.isEmpty else { return }
        let plan = Canvas.afterFailure(of: message, exception: exception, traceback: exception.traceback,
                                       storeResult: !ignoreResult, origin: options.nodeName.name,
                                       defaultQueue: Self.defaultQueue)
        let label = "\(message.displayName)[\(message.id)]"
        for problem in plan.problems { logger.warning("Task \(label): \(problem)") }
        for (queue, result) in plan.chainResults { publish(result, to: queue) }
        for task in plan.errbacks {
            logger.debug("Task \(label): sending errback \(task.message.taskName)[\(task.message.id)] to \(task.routingKey)")
            publishTask(task)
        }
    }

    /// Publishes a task message, declaring its queue first (once per
    /// connection) as Python clients declare it. While the broker is away
    /// it waits in `canvasOutbox`, sent (and declared) after the reconnect;
    /// one the broker refuses (unknown exchange, a queue declared with
    /// other arguments) is logged and dropped, never retried in a loop.
    func publishTask(_ task: OutgoingTask) {
        guard let conn = connection else {
            if canvasOutbox.count < Self.outboxLimit {
                canvasOutbox.append(task)
            } else {
                logger.error("task \(task.message.taskName)[\(task.message.id)] dropped: the broker has been unreachable for \(Self.outboxLimit) messages")
            }
            return
        }
        do {
            try conn.publish(task, declared: &declaredForSending)
        } catch {
            if error.code == .channelClosed {
                // The broker refused this message's queue or exchange (404
                // no such exchange, 406 a queue declared with other
                // arguments): sending it again would fail the same way.
                logger.error("task \(task.message.taskName)[\(task.message.id)] cannot be sent to \(task.exchange.isEmpty ? "queue" : "exchange \(task.exchange) key") \(task.routingKey) and is dropped: \(error.logLine)")
            } else {
                canvasOutbox.append(task)
            }
            connectionLost(error)
        }
    }

    /// Sends what waited for the broker (after a reconnect).
    func flushCanvasOutbox() {
        let pending = canvasOutbox
        canvasOutbox.removeAll()
        for task in pending { publishTask(task) }
    }
}
