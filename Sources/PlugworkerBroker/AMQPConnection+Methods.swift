import CRabbitMQ
import PlugworkerCore

/// AMQP methods on channel 1. RPC methods (declare, bind, delete, purge,
/// qos, consume, cancel, confirm.select) wait for the broker's reply; while
/// they wait, deliveries that arrive are parked in rabbitmq-c's frame queue
/// (drain them: see `hasBufferedData`). Each RPC throws `BrokerError`
/// `.channelClosed` with the broker's reply code when the broker refuses it;
/// the connection stays usable (see the type's docs on what the channel
/// close takes with it). Publish, ack, reject and nack are asynchronous: an
/// error the broker finds in them (an unknown delivery tag, a missing
/// exchange) closes the channel later, and `nextEvent` reports it as
/// `.channelClosed`.
extension AMQPConnection {
    /// Declares an exchange (`exchange.declare`).
    /// - Parameters:
    ///   - type: `direct`, `fanout`, `topic`, `headers`, or a plugin's type.
    ///   - passive: only check that it exists (404 if not).
    ///   - arguments: e.g. `["alternate-exchange": "ae"]`; see `AMQPTable`.
    /// - Throws: `.channelClosed` (406 when it exists with other flags,
    ///   404 when passive and missing), or a connection-fatal error.
    public func exchangeDeclare(name: String, type: String = "direct", passive: Bool = false, durable: Bool = true,
                                autoDelete: Bool = false, internal isInternal: Bool = false,
                                arguments: JSONObject = JSONObject()) throws(BrokerError) {
        let st = try begin("declaring exchange \"\(name)\"")
        try checkShort(name, "exchange name")
        try checkShort(type, "exchange type")
        let args = try AMQPTable.table(from: arguments, in: scratch)
        _ = amqp_exchange_declare(st, Self.channel, scratch.bytes(name), scratch.bytes(type), flag(passive),
                                  flag(durable), flag(autoDelete), flag(isInternal), args)
        scratch.recycle()
        try checkRPC("exchange.declare of \"\(name)\" (type \(type), durable \(durable), auto_delete \(autoDelete))")
    }

    /// Deletes an exchange (`exchange.delete`).
    public func exchangeDelete(name: String, ifUnused: Bool = false) throws(BrokerError) {
        let st = try begin("deleting exchange \"\(name)\"")
        try checkShort(name, "exchange name")
        _ = amqp_exchange_delete(st, Self.channel, scratch.bytes(name), flag(ifUnused))
        scratch.recycle()
        try checkRPC("exchange.delete of \"\(name)\"")
    }

    /// Declares a queue (`queue.declare`).
    /// - Parameters:
    ///   - name: empty for a server-named queue (`amq.gen-…`), returned in `name`.
    ///   - passive: only check that it exists (404 if not) and read its counts.
    ///   - arguments: e.g. `["x-expires": 10000, "x-message-ttl": 300000]`.
    /// - Returns: the queue's name, and its ready-message and consumer counts.
    /// - Throws: `.channelClosed` (406 when it exists with other flags or
    ///   arguments, 405 when another connection holds it exclusively, 404
    ///   when passive and missing), or a connection-fatal error.
    @discardableResult
    public func queueDeclare(name: String = "", passive: Bool = false, durable: Bool = true, exclusive: Bool = false,
                             autoDelete: Bool = false, arguments: JSONObject = JSONObject())
        throws(BrokerError) -> (name: String, messageCount: UInt32, consumerCount: UInt32)
    {
        let st = try begin("declaring queue \"\(name)\"")
        try checkShort(name, "queue name")
        let args = try AMQPTable.table(from: arguments, in: scratch)
        let ok = amqp_queue_declare(st, Self.channel, scratch.bytes(name), flag(passive), flag(durable),
                                    flag(exclusive), flag(autoDelete), args)
        scratch.recycle()
        try checkRPC("queue.declare of \"\(name)\" (durable \(durable), exclusive \(exclusive), auto_delete \(autoDelete))")
        guard let ok else { return (name, 0, 0) }
        return (ok.pointee.queue.string, ok.pointee.message_count, ok.pointee.consumer_count)
    }

    /// Binds a queue to an exchange (`queue.bind`).
    /// - Throws: `.channelClosed` 404 when either does not exist.
    public func queueBind(queue: String, exchange: String, routingKey: String,
                          arguments: JSONObject = JSONObject()) throws(BrokerError) {
        let st = try begin("binding queue \"\(queue)\"")
        try checkShort(queue, "queue name")
        try checkShort(exchange, "exchange name")
        try checkShort(routingKey, "routing key")
        let args = try AMQPTable.table(from: arguments, in: scratch)
        _ = amqp_queue_bind(st, Self.channel, scratch.bytes(queue), scratch.bytes(exchange), scratch.bytes(routingKey), args)
        scratch.recycle()
        try checkRPC("queue.bind of \"\(queue)\" to exchange \"\(exchange)\" with key \"\(routingKey)\"")
    }

    /// Removes a binding (`queue.unbind`).
    public func queueUnbind(queue: String, exchange: String, routingKey: String,
                            arguments: JSONObject = JSONObject()) throws(BrokerError) {
        let st = try begin("unbinding queue \"\(queue)\"")
        try checkShort(queue, "queue name")
        try checkShort(exchange, "exchange name")
        try checkShort(routingKey, "routing key")
        let args = try AMQPTable.table(from: arguments, in: scratch)
        _ = amqp_queue_unbind(st, Self.channel, scratch.bytes(queue), scratch.bytes(exchange), scratch.bytes(routingKey), args)
        scratch.recycle()
        try checkRPC("queue.unbind of \"\(queue)\" from exchange \"\(exchange)\" with key \"\(routingKey)\"")
    }

    /// Deletes a queue (`queue.delete`); its consumers (on any connection)
    /// get basic.cancel.
    /// - Returns: how many messages it held.
    @discardableResult
    public func queueDelete(name: String, ifUnused: Bool = false, ifEmpty: Bool = false) throws(BrokerError) -> UInt32 {
        let st = try begin("deleting queue \"\(name)\"")
        try checkShort(name, "queue name")
        let ok = amqp_queue_delete(st, Self.channel, scratch.bytes(name), flag(ifUnused), flag(ifEmpty))
        scratch.recycle()
        try checkRPC("queue.delete of \"\(name)\"")
        return ok?.pointee.message_count ?? 0
    }

    /// Removes the ready messages of a queue (`queue.purge`).
    /// - Returns: how many were removed.
    @discardableResult
    public func queuePurge(name: String) throws(BrokerError) -> UInt32 {
        let st = try begin("purging queue \"\(name)\"")
        try checkShort(name, "queue name")
        let ok = amqp_queue_purge(st, Self.channel, scratch.bytes(name))
        scratch.recycle()
        try checkRPC("queue.purge of \"\(name)\"")
        return ok?.pointee.message_count ?? 0
    }

    /// Limits unacked deliveries (`basic.qos`). With RabbitMQ, `global:
    /// true` shares the limit among all consumers of the channel (what a
    /// Celery worker asks for on classic queues); false limits each consumer.
    /// 0 means no limit. Lost when channel 1 is reopened.
    public func basicQos(prefetchCount: UInt16, global: Bool = false) throws(BrokerError) {
        let st = try begin("setting QoS")
        _ = amqp_basic_qos(st, Self.channel, 0, prefetchCount, flag(global))
        try checkRPC("basic.qos (prefetch_count \(prefetchCount), global \(global))")
    }

    /// Starts a consumer (`basic.consume`); its messages come from
    /// `nextEvent` as `.delivery`.
    /// - Parameters:
    ///   - noAck: the broker forgets each message once sent (no acks).
    ///   - consumerTag: empty lets the broker choose one (`amq.ctag-…`).
    ///   - arguments: e.g. `["x-priority": 10]`.
    /// - Returns: the consumer tag.
    /// - Throws: `.channelClosed` 404 for a missing queue, 403/405 for an
    ///   exclusive one held elsewhere.
    @discardableResult
    public func basicConsume(queue: String, noAck: Bool = false, exclusive: Bool = false, consumerTag: String = "",
                             arguments: JSONObject = JSONObject()) throws(BrokerError) -> String {
        let st = try begin("consuming from queue \"\(queue)\"")
        try checkShort(queue, "queue name")
        try checkShort(consumerTag, "consumer tag")
        let args = try AMQPTable.table(from: arguments, in: scratch)
        let ok = amqp_basic_consume(st, Self.channel, scratch.bytes(queue), scratch.bytes(consumerTag), 0,
                                    flag(noAck), flag(exclusive), args)
        scratch.recycle()
        try checkRPC("basic.consume from \"\(queue)\"")
        let tag = ok.map { $0.pointee.consumer_tag.string } ?? consumerTag
        consumerTags.insert(tag)
        return tag
    }

    /// Stops a consumer (`basic.cancel`). Deliveries already sent to it may
    /// still come from `nextEvent`; ack or reject them as usual.
    public func basicCancel(consumerTag: String) throws(BrokerError) {
        let st = try begin("cancelling consumer \"\(consumerTag)\"")
        try checkShort(consumerTag, "consumer tag")
        _ = amqp_basic_cancel(st, Self.channel, scratch.bytes(consumerTag))
        scratch.recycle()
        try checkRPC("basic.cancel of consumer \"\(consumerTag)\"")
        consumerTags.remove(consumerTag)
    }

    /// Puts channel 1 in confirm mode (`confirm.select`): from now on the
    /// broker answers each publish with `.publisherAck` or `.publisherNack`
    /// carrying the sequence number `basicPublish` returned. Lost when
    /// channel 1 is reopened.
    public func confirmSelect() throws(BrokerError) {
        let st = try begin("selecting confirm mode")
        _ = amqp_confirm_select(st, Self.channel)
        try checkRPC("confirm.select")
        if !isConfirmMode {
            isConfirmMode = true
            publishSequence = 0
        }
    }

    /// Publishes a message (`basic.publish`). Asynchronous: nothing comes
    /// back unless `mandatory` (unroutable → `.returned`) or confirm mode
    /// (`.publisherAck`). Publishing to a missing exchange closes the channel
    /// (404), reported later by `nextEvent`. While the broker has blocked the
    /// connection (`isBlocked`), this call blocks once the socket's send
    /// buffer is full.
    /// - Parameters:
    ///   - exchange: `""` is the default exchange, which routes by queue name.
    ///   - body: sent as is; it need only be valid during the call.
    /// - Returns: the message's confirm sequence number (1, 2, …) in confirm
    ///   mode, else 0.
    /// - Throws: `.invalidArgument` (nothing sent) for over-long short
    ///   strings or headers that do not fit a frame; connection-fatal errors.
    @discardableResult
    public func basicPublish(exchange: String, routingKey: String, mandatory: Bool = false,
                             properties: MessageProperties = MessageProperties(),
                             body: UnsafeRawBufferPointer) throws(BrokerError) -> UInt64 {
        let st = try begin("publishing")
        try checkShort(exchange, "exchange name")
        try checkShort(routingKey, "routing key")
        var props = try properties.amqpProperties(in: scratch)
        let bodyBytes = amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress))
        let rc = amqp_basic_publish(st, Self.channel, scratch.bytes(exchange), scratch.bytes(routingKey),
                                    flag(mandatory), 0, &props, bodyBytes)
        scratch.recycle()
        guard rc == AMQP_STATUS_OK.rawValue else {
            throw libraryFailure(rc, "publishing to exchange \"\(exchange)\" with routing key \"\(routingKey)\"")
        }
        guard isConfirmMode else { return 0 }
        publishSequence += 1
        return publishSequence
    }

    /// Publishes a message whose body is an array (see the buffer variant).
    @discardableResult
    public func basicPublish(exchange: String, routingKey: String, mandatory: Bool = false,
                             properties: MessageProperties = MessageProperties(),
                             body: [UInt8]) throws(BrokerError) -> UInt64 {
        let result: Result<UInt64, BrokerError> = body.withUnsafeBytes { raw in
            do throws(BrokerError) {
                return .success(try basicPublish(exchange: exchange, routingKey: routingKey, mandatory: mandatory,
                                                 properties: properties, body: raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Acknowledges a delivery (`basic.ack`); with `multiple`, also every
    /// earlier unacked one. An unknown tag makes the broker close the channel
    /// (406), reported by `nextEvent`.
    public func basicAck(deliveryTag: UInt64, multiple: Bool = false) throws(BrokerError) {
        let st = try begin("acking")
        let rc = amqp_basic_ack(st, Self.channel, deliveryTag, flag(multiple))
        guard rc == AMQP_STATUS_OK.rawValue else { throw libraryFailure(rc, "acking delivery \(deliveryTag)") }
    }

    /// Rejects one delivery (`basic.reject`): requeued (it comes back with
    /// `redelivered` set) or dropped / dead-lettered.
    public func basicReject(deliveryTag: UInt64, requeue: Bool) throws(BrokerError) {
        let st = try begin("rejecting")
        let rc = amqp_basic_reject(st, Self.channel, deliveryTag, flag(requeue))
        guard rc == AMQP_STATUS_OK.rawValue else { throw libraryFailure(rc, "rejecting delivery \(deliveryTag)") }
    }

    /// Rejects deliveries (`basic.nack`, RabbitMQ's extension): like
    /// `basicReject`, and with `multiple` every earlier unacked one too.
    public func basicNack(deliveryTag: UInt64, multiple: Bool = false, requeue: Bool) throws(BrokerError) {
        let st = try begin("nacking")
        let rc = amqp_basic_nack(st, Self.channel, deliveryTag, flag(multiple), flag(requeue))
        guard rc == AMQP_STATUS_OK.rawValue else { throw libraryFailure(rc, "nacking delivery \(deliveryTag)") }
    }

    // MARK: - Helpers

    /// The open state, with the scratch pool recycled for a new method.
    func begin(_ what: @autoclosure () -> String) throws(BrokerError) -> amqp_connection_state_t {
        guard let st = state, isOpen else { throw notOpen(what()) }
        scratch.recycle()
        return st
    }

    func checkShort(_ value: String, _ what: String) throws(BrokerError) {
        guard value.utf8.count > 255 else { return }
        throw BrokerError(.invalidArgument, "\(what) \"\(value.prefix(40))…\" is too long",
                          detail: "\(value.utf8.count) bytes; AMQP short strings hold at most 255",
                          hint: "use a shorter \(what)")
    }

    func flag(_ b: Bool) -> amqp_boolean_t { b ? 1 : 0 }
}
