import CRabbitMQ
import PlugworkerCore

/// Property flags of `amqp_basic_properties_t._flags` (AMQP 0-9-1 basic class).
enum BasicFlag {
    static let contentType: amqp_flags_t = 1 << 15
    static let contentEncoding: amqp_flags_t = 1 << 14
    static let headers: amqp_flags_t = 1 << 13
    static let deliveryMode: amqp_flags_t = 1 << 12
    static let priority: amqp_flags_t = 1 << 11
    static let correlationID: amqp_flags_t = 1 << 10
    static let replyTo: amqp_flags_t = 1 << 9
    static let expiration: amqp_flags_t = 1 << 8
    static let messageID: amqp_flags_t = 1 << 7
    static let timestamp: amqp_flags_t = 1 << 6
    static let type: amqp_flags_t = 1 << 5
    static let userID: amqp_flags_t = 1 << 4
    static let appID: amqp_flags_t = 1 << 3
}

extension MessageProperties {
    /// Reads rabbitmq-c's decoded properties (their memory must be alive).
    init(_ p: amqp_basic_properties_t) {
        self.init()
        let f = p._flags
        if f & BasicFlag.contentType != 0 { contentType = p.content_type.string }
        if f & BasicFlag.contentEncoding != 0 { contentEncoding = p.content_encoding.string }
        if f & BasicFlag.headers != 0 { headers = AMQPTable.json(from: p.headers) }
        if f & BasicFlag.deliveryMode != 0 { deliveryMode = p.delivery_mode }
        if f & BasicFlag.priority != 0 { priority = p.priority }
        if f & BasicFlag.correlationID != 0 { correlationID = p.correlation_id.string }
        if f & BasicFlag.replyTo != 0 { replyTo = p.reply_to.string }
        if f & BasicFlag.expiration != 0 { expiration = p.expiration.string }
        if f & BasicFlag.messageID != 0 { messageID = p.message_id.string }
        if f & BasicFlag.timestamp != 0 { timestamp = p.timestamp }
        if f & BasicFlag.type != 0 { type = p.type.string }
        if f & BasicFlag.userID != 0 { userID = p.user_id.string }
        if f & BasicFlag.appID != 0 { appID = p.app_id.string }
    }

    /// Builds rabbitmq-c properties whose strings and headers live in `pool`.
    /// - Throws: `.invalidArgument` for a short-string property over 255
    ///   bytes or a header key over 255 bytes.
    func amqpProperties(in pool: AMQPPool) throws(BrokerError) -> amqp_basic_properties_t {
        var p = amqp_basic_properties_t()
        var flags: amqp_flags_t = 0
        func short(_ value: String?, _ name: String, _ flag: amqp_flags_t) throws(BrokerError) -> amqp_bytes_t {
            guard let value else { return amqp_bytes_t(len: 0, bytes: nil) }
            guard value.utf8.count <= 255 else {
                throw BrokerError(.invalidArgument, "message property \(name) is too long",
                                  detail: "\(value.utf8.count) bytes; AMQP short strings hold at most 255",
                                  hint: "shorten the \(name) value")
            }
            flags |= flag
            return pool.bytes(value)
        }
        p.content_type = try short(contentType, "content_type", BasicFlag.contentType)
        p.content_encoding = try short(contentEncoding, "content_encoding", BasicFlag.contentEncoding)
        if let headers {
            p.headers = try AMQPTable.table(from: headers, in: pool)
            flags |= BasicFlag.headers
        }
        if let deliveryMode {
            p.delivery_mode = deliveryMode
            flags |= BasicFlag.deliveryMode
        }
        if let priority {
            p.priority = priority
            flags |= BasicFlag.priority
        }
        p.correlation_id = try short(correlationID, "correlation_id", BasicFlag.correlationID)
        p.reply_to = try short(replyTo, "reply_to", BasicFlag.replyTo)
        p.expiration = try short(expiration, "expiration", BasicFlag.expiration)
        p.message_id = try short(messageID, "message_id", BasicFlag.messageID)
        if let timestamp {
            p.timestamp = timestamp
            flags |= BasicFlag.timestamp
        }
        p.type = try short(type, "type", BasicFlag.type)
        p.user_id = try short(userID, "user_id", BasicFlag.userID)
        p.app_id = try short(appID, "app_id", BasicFlag.appID)
        p._flags = flags
        return p
    }
}
