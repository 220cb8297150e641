import PlugworkerBroker

extension AMQPConnection {
    /// Declares a task queue as kombu declares `Queue(name)` with Celery's
    /// defaults: a durable direct exchange named after the queue, the
    /// durable queue, and the binding with the queue's name as routing key.
    /// Senders (beat, callbacks and chain steps, the producer library, plugin
    /// consumer steps) call it before publishing to a queue, as kombu's
    /// producer does, so a message to a queue nobody declared yet is kept.
    public func declareTaskQueue(_ name: String) throws(BrokerError) {
        try exchangeDeclare(name: name, type: "direct", durable: true, autoDelete: false)
        _ = try queueDeclare(name: name, durable: true, exclusive: false, autoDelete: false)
        try queueBind(queue: name, exchange: name, routingKey: name)
    }

    /// Publishes a task message the way every sender here does: its queue
    /// declared first as kombu declares it, a named exchange checked
    /// (passively) first — a publish to a missing one would close the
    /// channel later and take the messages published after it —, each only
    /// once per connection, which `declared` remembers (empty it on a new
    /// connection).
    public func publish(_ task: OutgoingTask, declared: inout Set<String>) throws(BrokerError) {
        if let queue = task.declareQueue, !declared.contains(queue) {
            try declareTaskQueue(queue)
            declared.insert(queue)
        }
        if !task.exchange.isEmpty, !declared.contains("exchange:" + task.exchange) {
            try exchangeDeclare(name: task.exchange, passive: true)
            declared.insert("exchange:" + task.exchange)
        }
        let (properties, body) = task.message.encode()
        try basicPublish(exchange: task.exchange, routingKey: task.routingKey, properties: properties, body: body)
    }
}

extension OutgoingTask {
    /// `message` to `queue` through the default exchange, the queue declared
    /// first (what beat and `send_task(queue=...)` do).
    public static func toQueue(_ message: TaskMessageEncoder, _ queue: String) -> OutgoingTask {
        OutgoingTask(message: message, exchange: "", routingKey: queue, declareQueue: queue)
    }
}
