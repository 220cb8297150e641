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
}
