import PlugworkerCore

/// A queue the worker consumes from, as `inspect active_queues` describes
/// it: kombu's `Queue.as_dict(recurse=True)` (spec §5.4), e.g. for the
/// default queue
///
///     {"name": "celery",
///      "exchange": {"name": "celery", "type": "direct", "arguments": null,
///                   "durable": true, "passive": false, "auto_delete": false,
///                   "delivery_mode": null, "no_declare": false},
///      "routing_key": "celery", "queue_arguments": null, …,
///      "max_priority": null}
public struct QueueDescription: Sendable, Equatable {
    public var name: String
    public var exchange: String
    /// `direct`, `topic`, `fanout` or `headers`.
    public var exchangeType: String
    public var exchangeDurable: Bool
    public var routingKey: String
    public var durable: Bool
    public var exclusive: Bool
    public var autoDelete: Bool
    /// The `x-…` arguments it was declared with; nil shows as null.
    public var queueArguments: JSONObject?
    public var bindingArguments: JSONObject?
    public var consumerArguments: JSONObject?
    public var noAck: Bool
    /// kombu's shortcut attributes (`max_priority=10` etc.); nil is null.
    public var expires: Double?
    public var messageTTL: Double?
    public var maxLength: Int?
    public var maxLengthBytes: Int?
    public var maxPriority: Int?

    /// A queue described as Celery's defaults do: a durable direct exchange
    /// of the same name (unless given) and the queue name as routing key.
    public init(name: String, exchange: String? = nil, exchangeType: String = "direct", exchangeDurable: Bool = true,
                routingKey: String? = nil, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
                queueArguments: JSONObject? = nil, bindingArguments: JSONObject? = nil,
                consumerArguments: JSONObject? = nil, noAck: Bool = false, expires: Double? = nil,
                messageTTL: Double? = nil, maxLength: Int? = nil, maxLengthBytes: Int? = nil, maxPriority: Int? = nil) {
        self.name = name
        self.exchange = exchange ?? name
        self.exchangeType = exchangeType
        self.exchangeDurable = exchangeDurable
        self.routingKey = routingKey ?? name
        self.durable = durable
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.queueArguments = queueArguments
        self.bindingArguments = bindingArguments
        self.consumerArguments = consumerArguments
        self.noAck = noAck
        self.expires = expires
        self.messageTTL = messageTTL
        self.maxLength = maxLength
        self.maxLengthBytes = maxLengthBytes
        self.maxPriority = maxPriority
    }

    /// kombu's description object, keys in kombu's order.
    public var json: JSON {
        func object(_ o: JSONObject?) -> JSON { o.map { $0.count == 0 ? .null : .object($0) } ?? .null }
        func int(_ v: Int?) -> JSON { v.map { .int(Int64($0)) } ?? .null }
        func number(_ v: Double?) -> JSON {
            guard let v else { return .null }
            if v == v.rounded(), v.magnitude < 9.0e15 { return .int(Int64(v)) }
            return .double(v)
        }
        let exchangeJSON: JSON = .object(JSONObject([
            .init("name", .string(exchange)),
            .init("type", .string(exchangeType)),
            .init("arguments", .null),
            .init("durable", .bool(exchangeDurable)),
            .init("passive", false),
            .init("auto_delete", false),
            .init("delivery_mode", .null),
            .init("no_declare", false),
        ]))
        return .object(JSONObject([
            .init("name", .string(name)),
            .init("exchange", exchangeJSON),
            .init("routing_key", .string(routingKey)),
            .init("queue_arguments", object(queueArguments)),
            .init("binding_arguments", object(bindingArguments)),
            .init("consumer_arguments", object(consumerArguments)),
            .init("durable", .bool(durable)),
            .init("exclusive", .bool(exclusive)),
            .init("auto_delete", .bool(autoDelete)),
            .init("no_ack", .bool(noAck)),
            .init("alias", .null),
            .init("bindings", []),
            .init("no_declare", .null),
            .init("expires", number(expires)),
            .init("message_ttl", number(messageTTL)),
            .init("max_length", int(maxLength)),
            .init("max_length_bytes", int(maxLengthBytes)),
            .init("max_priority", int(maxPriority)),
        ]))
    }
}
