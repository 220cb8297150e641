import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// The client side of remote control (spec §5): what `celery inspect`,
/// `celery control` and mingle do. Publishes requests to the fanout
/// exchange `celery.pidbox` and collects the replies that come to its own
/// queue `<oid>.reply.celery.pidbox` (bound to `reply.celery.pidbox` with
/// key `<oid>`), matching them by ticket.
///
/// Blocking: `call` reads the connection until its timeout. Use a
/// connection of its own, or one with no other consumers yet (mingle runs
/// before the task consumers start); events that are not replies go to
/// `onOtherEvent`, or are dropped.
public final class ControlClient {
    /// The request exchange (fanout, not durable).
    public static let requestExchange = "celery.pidbox"
    /// The reply exchange (direct, not durable).
    public static let replyExchange = "reply.celery.pidbox"
    /// Arguments of the reply queue, the same as a worker's mailbox queue:
    /// `control_queue_expires` 10 s, `control_queue_ttl` 300 s.
    public static let queueArguments = JSONObject(["x-expires": 10000, "x-message-ttl": 300_000])

    public let connection: AMQPConnection
    /// The client's id: the reply queue's routing key.
    public let oid: String
    /// The client's Lamport clock: advanced for each request, moved past
    /// the clock of each reply.
    public private(set) var clock: Int
    /// Receives broker events during `call` that are not its replies.
    public var onOtherEvent: ((BrokerEvent) -> Void)?

    private var consumerTag: String?

    /// The reply queue's name, `<oid>.reply.celery.pidbox`.
    public var replyQueue: String { "\(oid).\(Self.replyExchange)" }

    /// - Parameters:
    ///   - connection: an open connection.
    ///   - oid: any unique id (Python uses a UUID3 per thread).
    ///   - clock: the starting clock (a worker passes its own for mingle).
    public init(connection: AMQPConnection, oid: String = UUID4.make(), clock: Int = 0) {
        self.connection = connection
        self.oid = oid
        self.clock = clock
    }

    /// Declares the reply exchange, the reply queue (non-durable,
    /// exclusive, auto-delete, with `queueArguments`), its binding and a
    /// no-ack consumer; done once, before the first call.
    public func prepare() throws(BrokerError) {
        guard consumerTag == nil else { return }
        try connection.exchangeDeclare(name: Self.replyExchange, type: "direct", durable: false, autoDelete: false)
        try connection.queueDeclare(name: replyQueue, durable: false, exclusive: true, autoDelete: true,
                                    arguments: Self.queueArguments)
        try connection.queueBind(queue: replyQueue, exchange: Self.replyExchange, routingKey: oid)
        consumerTag = try connection.basicConsume(queue: replyQueue, noAck: true)
    }

    /// Publishes a request that wants no reply (a cast).
    /// - Parameter timeout: sets the `expires` header (now + timeout); nil
    ///   sends 0.
    public func cast(_ method: String, arguments: JSONObject = JSONObject(), destination: [String]? = nil,
                     pattern: String? = nil, matcher: String? = nil, timeout: Double? = nil) throws(BrokerError) {
        let request = PidboxRequest(method: method, arguments: arguments, destination: destination, pattern: pattern,
                                    matcher: matcher)
        try publish(request, timeout: timeout)
    }

    /// Publishes a request and collects the replies to it.
    /// - Parameters:
    ///   - timeout: seconds to wait for replies.
    ///   - limit: stop after this many replies; by default the number of
    ///     `destination` nodes when given (every listed node answers once),
    ///     else wait out the timeout.
    ///   - onReply: called as each reply arrives (the CLI prints them then).
    /// - Returns: the replies in arrival order, `(node, payload)`.
    /// - Throws: `BrokerError` when the connection fails or the broker
    ///   closes the channel (the reply consumer is then gone).
    @discardableResult
    public func call(_ method: String, arguments: JSONObject = JSONObject(), destination: [String]? = nil,
                     pattern: String? = nil, matcher: String? = nil, timeout: Double = 1, limit: Int? = nil,
                     onReply: ((String, JSON) -> Void)? = nil) throws(BrokerError) -> [(node: String, payload: JSON)] {
        let ticket = try send(method, arguments: arguments, destination: destination, pattern: pattern,
                              matcher: matcher, timeout: timeout)
        let limit = limit ?? destination.flatMap { $0.isEmpty ? nil : $0.count }
        var replies: [(node: String, payload: JSON)] = []
        let deadline = Timer.now() + timeout
        while limit.map({ replies.count < $0 }) ?? true {
            let left = deadline - Timer.now()
            guard left > 0 else { break }
            guard let event = try connection.nextEvent(timeout: left) else { continue }
            switch event {
            case .delivery(let d) where d.consumerTag == consumerTag:
                for reply in self.replies(in: d, ticket: ticket) ?? [] {
                    replies.append(reply)
                    onReply?(reply.node, reply.payload)
                }
            case .channelClosed(let code, let text):
                throw BrokerError(.channelClosed, "the broker closed the channel while replies were awaited",
                                  detail: "\(code) \(text)", hint: "check the broker log; the reply queue is gone",
                                  replyCode: code, replyText: text)
            default:
                onOtherEvent?(event)
            }
        }
        return replies
    }

    /// Publishes a request that wants replies, without waiting for them:
    /// the caller reads the connection and passes each delivery whose
    /// consumer tag is `replyConsumerTag` to `replies(in:ticket:)` (mingle
    /// does this from the Hub, so the loop is never blocked).
    /// - Returns: the request's ticket.
    public func send(_ method: String, arguments: JSONObject = JSONObject(), destination: [String]? = nil,
                     pattern: String? = nil, matcher: String? = nil, timeout: Double = 1) throws(BrokerError) -> String {
        try prepare()
        let ticket = UUID4.make()
        let request = PidboxRequest(method: method, arguments: arguments, destination: destination, pattern: pattern,
                                    matcher: matcher,
                                    replyTo: .init(exchange: Self.replyExchange, routingKey: oid), ticket: ticket)
        try publish(request, timeout: timeout)
        return ticket
    }

    /// The consumer tag of the reply queue (after `prepare()`).
    public var replyConsumerTag: String? { consumerTag }

    /// The replies a delivery to the reply queue carries for `ticket`
    /// (one `(node, payload)` per member of its body, normally one), with
    /// the clock moved past the reply's; nil when it answers another
    /// request or is not a JSON object.
    public func replies(in d: Delivery, ticket: String) -> [(node: String, payload: JSON)]? {
        guard d.properties.headers?["ticket"]?.stringValue == ticket else { return nil }
        if let c = d.properties.headers?["clock"].flatMap(PidboxRequest.integer) {
            clock = max(clock, c) + 1
        }
        guard case .object(let body)? = try? JSON.parse(d.body) else { return nil }
        return body.members.map { ($0.key, $0.value) }
    }

    /// Stops consuming the reply queue (exclusive and auto-delete: the
    /// broker then deletes it). The client can `prepare()` again.
    public func finish() throws(BrokerError) {
        guard let tag = consumerTag else { return }
        consumerTag = nil
        try connection.basicCancel(consumerTag: tag)
    }

    /// Declares the request exchange and publishes `request` with the
    /// `clock` and `expires` headers.
    func publish(_ request: PidboxRequest, timeout: Double?) throws(BrokerError) {
        try connection.exchangeDeclare(name: Self.requestExchange, type: "fanout", durable: false, autoDelete: false)
        var request = request
        clock += 1
        request.clock = clock
        request.expires = timeout.map { CeleryTime.now() + $0 } ?? 0
        try connection.basicPublish(exchange: Self.requestExchange, routingKey: "", properties: request.properties,
                                    body: request.body.serializedBytes)
    }
}
