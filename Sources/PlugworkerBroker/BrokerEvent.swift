/// Something that arrived from the broker, as `AMQPConnection.nextEvent`
/// reports it.
public enum BrokerEvent: Sendable {
    /// A message for one of our consumers. Ack, reject or nack it with its
    /// `deliveryTag` on the same connection, before the channel is closed
    /// (tags from before a `.channelClosed` are void: the broker has already
    /// requeued those messages).
    case delivery(Delivery)
    /// The broker cancelled one of our consumers (its queue was deleted, or
    /// the node holding it went away). Nothing more arrives for that tag;
    /// the consumer may be re-established once the queue exists again.
    case consumerCancelled(consumerTag: String)
    /// The broker closed channel 1 (reply code and text, e.g. 406
    /// PRECONDITION_FAILED for an ack with an unknown delivery tag). Channel 1
    /// has already been reopened, but every consumer, the QoS setting and
    /// confirm mode were lost with the old channel, and unacked messages were
    /// requeued by the broker: re-declare what is needed and consume again.
    /// Also reported after an RPC method threw `.channelClosed`, so that the
    /// event loop learns of it in one place.
    case channelClosed(replyCode: UInt16, replyText: String)
    /// A `mandatory` message the broker could not route came back.
    case returned(ReturnedMessage)
    /// Publisher confirms (after `confirmSelect()`): the broker has taken
    /// responsibility for the message with this sequence number (and every
    /// earlier one when `multiple`).
    case publisherAck(sequence: UInt64, multiple: Bool)
    /// Publisher confirms: the broker lost the message(s) and they should be
    /// published again.
    case publisherNack(sequence: UInt64, multiple: Bool)
    /// The broker stopped reading from this connection (memory or disk
    /// alarm, `reason` says which). Publishing will block until `.unblocked`;
    /// consuming and acking still work.
    case blocked(reason: String)
    /// The broker reads from this connection again.
    case unblocked
}

/// A message returned by the broker (`basic.return`): it was published with
/// `mandatory: true` and no queue was bound for its routing key.
public struct ReturnedMessage: Sendable {
    /// Why, e.g. 312 NO_ROUTE.
    public var replyCode: UInt16
    public var replyText: String
    public var exchange: String
    public var routingKey: String
    public var properties: MessageProperties
    public var body: [UInt8]

    public init(replyCode: UInt16, replyText: String, exchange: String, routingKey: String,
                properties: MessageProperties, body: [UInt8]) {
        self.replyCode = replyCode
        self.replyText = replyText
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}
