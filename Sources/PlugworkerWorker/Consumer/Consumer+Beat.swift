import PlugworkerCelery

extension Consumer {
    /// Sends a task message on the worker's connection, for beat embedded
    /// with `-B`: the queue is declared once per connection as Python
    /// clients declare it, then the message goes to the default exchange.
    /// - Returns: false while the broker is away (beat tries again later).
    func sendTask(_ message: TaskMessageEncoder, queue: String) -> Bool {
        guard let conn = connection else { return false }
        do {
            try conn.publish(.toQueue(message, queue), declared: &declaredForSending)
            return true
        } catch {
            connectionLost(error)
            return false
        }
    }
}
