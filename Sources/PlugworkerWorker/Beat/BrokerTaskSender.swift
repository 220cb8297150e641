import Logging
import PlugworkerBroker
import PlugworkerCelery

/// Sends task messages over a connection of its own, as a Python client
/// does: the target queue declared once per connection (durable, with its
/// direct exchange and binding, as kombu declares it), then published to
/// the default exchange. Used by `plugworker beat`.
///
/// It connects on first use and after a failure; a send that fails closes
/// the connection and returns false, so the caller retries later and never
/// blocks longer than `connectTimeout`.
public final class BrokerTaskSender {
    let url: BrokerURL
    let logger: Logger
    public var connectTimeout = 5.0
    private var connection: AMQPConnection?
    private var declared: Set<String> = []
    private var failures = 0

    public init(url: BrokerURL, logger: Logger) {
        self.url = url
        self.logger = logger
    }

    /// Publishes `message` to `queue`; false (logged) when the broker cannot be reached.
    public func send(_ message: TaskMessageEncoder, queue: String) -> Bool {
        do {
            try connected().publish(.toQueue(message, queue), declared: &declared)
            failures = 0
            return true
        } catch {
            failures += 1
            if failures == 1 || failures % 30 == 0 {
                logger.error("beat: cannot send to \(url.masked): \(error)")
            }
            connection?.close()
            connection = nil
            declared = []
            return false
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }

    private func connected() throws(BrokerError) -> AMQPConnection {
        if let connection {
            // Read what the broker said meanwhile (a connection.close after
            // a broker restart surfaces here as an error, before we publish).
            while try connection.nextEvent(timeout: 0) != nil {}
            return connection
        }
        let conn = AMQPConnection(url: url, heartbeat: 0, connectionName: "plugworker beat",
                                  tls: (try? TLSOptions.fromQuery(url.query)) ?? TLSOptions())
        try conn.connect(timeout: connectTimeout)
        logger.info("beat: Connected to \(url.masked)")
        connection = conn
        return conn
    }
}
