import PlugworkerBroker
import PlugworkerCelery

/// One task message the worker has taken from the broker, from receipt to
/// its result (Celery's `worker/request.py`).
final class Request {
    let message: TaskMessage
    let strategy: Strategy
    let deliveryTag: UInt64
    /// The connection it came on; acks for older connections are dropped
    /// (the broker requeued those messages when the connection went).
    let generation: Int
    let redelivered: Bool
    let exchange: String
    let routingKey: String
    /// The pool job number, once dispatched.
    var seq: UInt64 = 0
    var acknowledged = false
    /// Wall-clock start, once running.
    var timeStart: Double?
    var workerPID: Int32?
    /// Set when `revoke(terminate: true)` killed its process.
    var terminatedBy: Int32?
    /// Set (to the limit in seconds) when the hard time limit killed its
    /// process.
    var hardTimeLimitExceeded: Double?

    init(message: TaskMessage, strategy: Strategy, delivery: Delivery, generation: Int) {
        self.message = message
        self.strategy = strategy
        self.deliveryTag = delivery.deliveryTag
        self.generation = generation
        self.redelivered = delivery.redelivered
        self.exchange = delivery.exchange
        self.routingKey = delivery.routingKey
    }

    var id: String { message.id }
    /// `name[id]`, as Celery's log lines show a task.
    var label: String { "\(message.displayName)[\(message.id)]" }
    var acksLate: Bool { strategy.acksLate }
    /// The message's `ignore_result` header wins; null means the task's own.
    var ignoreResult: Bool { message.ignoreResult ?? strategy.ignoreResult }
    /// Where results go: the reply_to queue, unless results are ignored.
    var resultQueue: String? {
        guard !ignoreResult, let r = message.replyTo, !r.isEmpty else { return nil }
        return r
    }
}
