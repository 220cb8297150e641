import PlugworkerCore

/// The AMQP basic properties of a message, with the headers table as JSON.
/// Nil means "not set" (absent from the property flags).
public struct MessageProperties: Sendable, Equatable {
    public var contentType: String?
    public var contentEncoding: String?
    /// The application headers table, converted to JSON (see AMQPTable).
    public var headers: JSONObject?
    /// 1 transient, 2 persistent.
    public var deliveryMode: UInt8?
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as a decimal string.
    public var expiration: String?
    public var messageID: String?
    public var timestamp: UInt64?
    public var type: String?
    public var userID: String?
    public var appID: String?

    public init(contentType: String? = nil, contentEncoding: String? = nil, headers: JSONObject? = nil,
                deliveryMode: UInt8? = nil, priority: UInt8? = nil, correlationID: String? = nil,
                replyTo: String? = nil, expiration: String? = nil, messageID: String? = nil,
                timestamp: UInt64? = nil, type: String? = nil, userID: String? = nil, appID: String? = nil) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.userID = userID
        self.appID = appID
    }
}

/// A message delivered to one of our consumers.
public struct Delivery: Sendable {
    public var consumerTag: String
    /// The channel-scoped tag to ack or reject it with.
    public var deliveryTag: UInt64
    public var redelivered: Bool
    public var exchange: String
    public var routingKey: String
    public var properties: MessageProperties
    public var body: [UInt8]

    public init(consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String,
                properties: MessageProperties, body: [UInt8]) {
        self.consumerTag = consumerTag
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}
