import PlugworkerCelery

extension Consumer {
    /// Sends a task message on the worker's connection, for beat embedded
    /// with `-B`: the queue is declared once per connection as Python
    /// clients declare it, then the message goes to the default exchange.
    /// - Returns: false while the broker is away (beat tries again later).
    func sendTask(_ message: TaskMessageEncoder, queue: String) -> Bool {
        guard let conn = connection else { return false }
        do {
            if !declaredForSending.contains(queue) {
                try conn.declareTaskQueue(queue)
                declaredForSending.insert(queue)
            }
            let (properties, body) = message.encode()
            try conn.basicPublish(exchange: "", routingKey: queue, properties: properties, body: body)
            return true
        } catch {
            connectionLost(error)
            return false
        }
    }
}
