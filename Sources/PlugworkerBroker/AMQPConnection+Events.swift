import CRabbitMQ
import Glibc
import Logging
import PlugworkerCore

extension AMQPConnection {
    /// Waits for the next thing the broker sends, up to `timeout` seconds.
    ///
    /// - Parameter timeout: 0 returns at once when nothing is buffered or
    ///   readable (the event loop's mode); nil blocks until something
    ///   arrives. Heartbeats are sent from inside this call when due (see
    ///   the type's docs for the contract).
    /// - Returns: the next event, or nil when nothing arrived in time. Frames
    ///   that need no caller action (heartbeats, channel.flow, stray replies)
    ///   are handled here and never returned.
    /// - Throws: `BrokerError` when the connection is unusable: the broker
    ///   closed it (`.connectionClosed`), the socket failed
    ///   (`.connectionLost`), broker heartbeats stopped
    ///   (`.heartbeatTimeout`) or the stream broke (`.protocolError`). A
    ///   channel close is not thrown: it comes back as `.channelClosed` after
    ///   channel 1 has been reopened.
    ///
    /// A delivery's content frames are read in one go: if the broker has
    /// sent basic.deliver but its header or body has not arrived yet, this
    /// call waits for them even with `timeout: 0` (rabbitmq-c has no
    /// non-blocking way to read a message's content). RabbitMQ sends them
    /// back to back, so the wait is one network round at most.
    public func nextEvent(timeout: Double?) throws(BrokerError) -> BrokerEvent? {
        guard let st = state, isOpen else { throw notOpen("waiting for broker events") }
        if !pending.isEmpty { return pending.removeFirst() }
        let deadline = timeout.map { Self.now() + UInt64(max(0, $0) * 1e9) }
        while true {
            // Frees the memory of frames already handled (rabbitmq-c 0.11
            // keeps a channel's pool while frames for it are queued).
            amqp_maybe_release_buffers(st)
            var envelope = amqp_envelope_t()
            let reply: amqp_rpc_reply_t
            if let deadline {
                let now = Self.now()
                var tv = Self.timeval(seconds: deadline > now ? Double(deadline - now) / 1e9 : 0)
                reply = amqp_consume_message(st, &envelope, &tv, 0)
            } else {
                reply = amqp_consume_message(st, &envelope, nil, 0)
            }
            switch reply.reply_type {
            case AMQP_RESPONSE_NORMAL:
                let delivery = Delivery(
                    consumerTag: envelope.consumer_tag.string,
                    deliveryTag: envelope.delivery_tag,
                    redelivered: envelope.redelivered != 0,
                    exchange: envelope.exchange.string,
                    routingKey: envelope.routing_key.string,
                    properties: MessageProperties(envelope.message.properties),
                    body: envelope.message.body.array)
                amqp_destroy_envelope(&envelope)
                return .delivery(delivery)
            case AMQP_RESPONSE_LIBRARY_EXCEPTION:
                let status = reply.library_error
                if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
                guard status == AMQP_STATUS_UNEXPECTED_STATE.rawValue else {
                    throw libraryFailure(status, "waiting for broker events")
                }
                // Not a delivery: rabbitmq-c put the frame back; take it.
                var frame = amqp_frame_t()
                var zero = Glibc.timeval()
                let rc = amqp_simple_wait_frame_noblock(st, &frame, &zero)
                guard rc == AMQP_STATUS_OK.rawValue else { throw libraryFailure(rc, "reading a broker frame") }
                if let event = try handle(frame) { return event }
                if !pending.isEmpty { return pending.removeFirst() }
            // Nothing for the caller; keep waiting until the deadline.
            case AMQP_RESPONSE_SERVER_EXCEPTION:
                // channel.close or connection.close in the middle of a
                // delivery's content.
                return try handleClose(reply.reply, during: "reading a delivery")
            default:
                teardown()
                throw BrokerError(.protocolError, "unexpected reply from \(url.masked) while waiting for events",
                                  detail: "reply type \(reply.reply_type.rawValue)", hint: "reconnect")
            }
        }
    }

    /// Acts on a frame that is not a delivery. Returns the event to report,
    /// or nil when the frame needs no caller action.
    func handle(_ frame: amqp_frame_t) throws(BrokerError) -> BrokerEvent? {
        guard let st = state else { throw notOpen("handling a frame") }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else {
            logger.debug("ignoring a stray frame of type \(frame.frame_type) on channel \(frame.channel)")
            return nil
        }
        let method = frame.payload.method
        switch method.id {
        case AMQPMethod.basicCancel:
            let cancel = method.decoded!.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            let tag = cancel.consumer_tag.string
            consumerTags.remove(tag)
            if cancel.nowait == 0 {
                var ok = amqp_basic_cancel_ok_t(consumer_tag: cancel.consumer_tag)
                let rc = amqp_send_method(st, frame.channel, AMQPMethod.basicCancelOk, &ok)
                if rc != AMQP_STATUS_OK.rawValue { throw libraryFailure(rc, "acknowledging basic.cancel") }
            }
            logger.debug("broker cancelled consumer \(tag) on \(url.masked)")
            return .consumerCancelled(consumerTag: tag)
        case AMQPMethod.channelClose, AMQPMethod.connectionClose:
            return try handleClose(method, during: "waiting for broker events")
        case AMQPMethod.basicReturn:
            let ret = method.decoded!.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let code = ret.reply_code
            let text = ret.reply_text.string
            let exchange = ret.exchange.string
            let routingKey = ret.routing_key.string
            var message = amqp_message_t()
            let reply = amqp_read_message(st, frame.channel, &message, 0)
            switch reply.reply_type {
            case AMQP_RESPONSE_NORMAL:
                let returned = ReturnedMessage(replyCode: code, replyText: text, exchange: exchange, routingKey: routingKey,
                                               properties: MessageProperties(message.properties),
                                               body: message.body.array)
                amqp_destroy_message(&message)
                return .returned(returned)
            case AMQP_RESPONSE_SERVER_EXCEPTION:
                return try handleClose(reply.reply, during: "reading a returned message")
            default:
                throw libraryFailure(reply.library_error, "reading a returned message")
            }
        case AMQPMethod.basicAck:
            let ack = method.decoded!.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .publisherAck(sequence: ack.delivery_tag, multiple: ack.multiple != 0)
        case AMQPMethod.basicNack:
            let nack = method.decoded!.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .publisherNack(sequence: nack.delivery_tag, multiple: nack.multiple != 0)
        case AMQPMethod.connectionBlocked:
            let blocked = method.decoded!.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            let reason = blocked.reason.string
            isBlocked = true
            logger.warning("The broker at \(url.masked) blocked publishing: \(reason)")
            return .blocked(reason: reason)
        case AMQPMethod.connectionUnblocked:
            isBlocked = false
            logger.info("The broker at \(url.masked) unblocked publishing")
            return .unblocked
        case AMQPMethod.channelFlow:
            let flow = method.decoded!.assumingMemoryBound(to: amqp_channel_flow_t.self).pointee
            var ok = amqp_channel_flow_ok_t(active: flow.active)
            let rc = amqp_send_method(st, frame.channel, AMQPMethod.channelFlowOk, &ok)
            if rc != AMQP_STATUS_OK.rawValue { throw libraryFailure(rc, "acknowledging channel.flow") }
            return nil
        default:
            logger.debug("ignoring method 0x\(String(method.id, radix: 16)) on channel \(frame.channel)")
            return nil
        }
    }

    /// Handles channel.close (acknowledge, reopen, report) or
    /// connection.close (acknowledge, tear down, throw).
    func handleClose(_ method: amqp_method_t, during what: String) throws(BrokerError) -> BrokerEvent {
        switch method.id {
        case AMQPMethod.channelClose:
            let close = method.decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let text = close.reply_text.string
            try recoverChannel(replyCode: close.reply_code, replyText: text,
                               failed: AMQPMethod.name(classID: close.class_id, methodID: close.method_id))
            return .channelClosed(replyCode: close.reply_code, replyText: text)
        case AMQPMethod.connectionClose:
            throw acknowledgeConnectionClose(method, during: what)
        default:
            teardown()
            throw BrokerError(.protocolError, "unexpected method from \(url.masked) while \(what)",
                              detail: "method 0x\(String(method.id, radix: 16))", hint: "reconnect")
        }
    }

    /// Answers the broker's connection.close and tears down. Returns the
    /// error to throw.
    func acknowledgeConnectionClose(_ method: amqp_method_t, during what: String) -> BrokerError {
        let close = method.decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
        let code = close.reply_code
        let text = close.reply_text.string
        if let st = state {
            var ok = amqp_connection_close_ok_t(dummy: 0)
            _ = amqp_send_method(st, 0, AMQPMethod.connectionCloseOk, &ok)
        }
        teardown()
        let hint: String
        switch code {
        case 320: hint = "the connection was closed by an operator or the broker is shutting down; reconnect"
        case 501, 502, 503, 504, 505: hint = "the broker saw a protocol error from this client; please report it"
        case 530: hint = "the broker refused an operation on this connection; its log says which"
        default: hint = "the broker log says why; reconnect"
        }
        let failed = close.class_id != 0 ? " (in \(AMQPMethod.name(classID: close.class_id, methodID: close.method_id)))" : ""
        return BrokerError(.connectionClosed, "the broker closed the connection \(url.masked) while \(what)",
                           detail: "\(code) \(text)\(failed)", hint: hint,
                           replyCode: code, replyText: text, classID: close.class_id, methodID: close.method_id)
    }

    /// After the broker closed channel 1: acknowledge, drop the frames of the
    /// dead channel that rabbitmq-c had queued, and reopen channel 1.
    func recoverChannel(replyCode: UInt16, replyText: String, failed: String) throws(BrokerError) {
        guard let st = state else { throw notOpen("reopening channel 1") }
        var ok = amqp_channel_close_ok_t(dummy: 0)
        let rc = amqp_send_method(st, Self.channel, AMQPMethod.channelCloseOk, &ok)
        if rc != AMQP_STATUS_OK.rawValue { throw libraryFailure(rc, "acknowledging channel.close") }
        // Every frame queued now came before the close: deliveries on the old
        // channel (the broker requeues them; their tags are void) or
        // connection-level notices, which are kept.
        var dropped = 0
        while amqp_frames_enqueued(st) != 0 {
            var frame = amqp_frame_t()
            var zero = Glibc.timeval()
            guard amqp_simple_wait_frame_noblock(st, &frame, &zero) == AMQP_STATUS_OK.rawValue else { break }
            if frame.channel == 0 && frame.frame_type == UInt8(AMQP_FRAME_METHOD) {
                if let event = try handle(frame) { pending.append(event) }
            } else if frame.frame_type == UInt8(AMQP_FRAME_METHOD) && frame.payload.method.id == AMQPMethod.basicDeliver {
                dropped += 1
            }
        }
        consumerTags.removeAll()
        isConfirmMode = false
        publishSequence = 0
        _ = amqp_channel_open(st, Self.channel)
        try checkOpenReply("reopening channel 1")
        channelGeneration += 1
        logger.warning(
            "The broker closed channel 1 of \(url.masked): \(replyCode) \(replyText) (in \(failed)); reopened it\(dropped > 0 ? ", \(dropped) unacked deliveries dropped (requeued by the broker)" : "")"
        )
    }

    /// Checks the reply of channel.open, where a channel.close cannot be
    /// recovered from.
    func checkOpenReply(_ what: String) throws(BrokerError) {
        guard let st = state else { throw notOpen(what) }
        let reply = amqp_get_rpc_reply(st)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw libraryFailure(reply.library_error, what)
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.connectionClose:
            throw acknowledgeConnectionClose(reply.reply, during: what)
        default:
            let detail: String
            if reply.reply.id == AMQPMethod.channelClose {
                let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                detail = "\(close.reply_code) \(close.reply_text.string)"
            } else {
                detail = "reply type \(reply.reply_type.rawValue)"
            }
            teardown()
            throw BrokerError(.protocolError, "\(what) on \(url.masked) failed", detail: detail,
                              hint: "the broker's channel_max may be reached; its log says more")
        }
    }

    /// Checks the reply of the RPC just made. A channel.close is recovered
    /// from (channel 1 reopened, `.channelClosed` queued as an event) and
    /// thrown as `.channelClosed`.
    func checkRPC(_ what: @autoclosure () -> String) throws(BrokerError) {
        guard let st = state else { throw notOpen(what()) }
        let reply = amqp_get_rpc_reply(st)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw libraryFailure(reply.library_error, what())
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.channelClose:
            let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let code = close.reply_code
            let text = close.reply_text.string
            let failed = AMQPMethod.name(classID: close.class_id, methodID: close.method_id)
            try recoverChannel(replyCode: code, replyText: text, failed: failed)
            pending.append(.channelClosed(replyCode: code, replyText: text))
            throw BrokerError(.channelClosed, "the broker refused \(what()) on \(url.masked)",
                              detail: "\(code) \(text) (in \(failed))", hint: Self.hint(forReplyCode: code),
                              replyCode: code, replyText: text, classID: close.class_id, methodID: close.method_id)
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.connectionClose:
            throw acknowledgeConnectionClose(reply.reply, during: what())
        default:
            teardown()
            throw BrokerError(.protocolError, "unexpected reply from \(url.masked) to \(what())",
                              detail: "reply type \(reply.reply_type.rawValue), method 0x\(String(reply.reply.id, radix: 16))",
                              hint: "reconnect")
        }
    }

    static func hint(forReplyCode code: UInt16) -> String {
        switch code {
        case 403: return "the user lacks permission for this resource (rabbitmqctl list_permissions)"
        case 404: return "declare the queue or exchange first, or check its name"
        case 405: return "another connection holds it exclusively"
        case 406: return "it exists with other flags or arguments (compare rabbitmqctl list_queues name durable auto_delete arguments), or a delivery tag was acked twice or on the wrong channel; declare it exactly as the clients do, or delete it"
        default: return "the broker log says more"
        }
    }

    /// Maps a rabbitmq-c status to an error; tears the connection down when
    /// the status leaves it unusable.
    func libraryFailure(_ status: Int32, _ what: String) -> BrokerError {
        let errnoNow = errno
        switch status {
        case AMQP_STATUS_TABLE_TOO_BIG.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue:
            return BrokerError(.invalidArgument, "cannot send \(what) to \(url.masked)",
                               detail: "rabbitmq-c: \(libraryErrorString(status))",
                               hint: "headers or arguments must fit in one frame (frame_max \(negotiatedFrameMax) bytes)",
                               libraryStatus: status)
        default:
            break
        }
        teardown()
        switch status {
        case AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue:
            return BrokerError(.heartbeatTimeout, "lost the connection to \(url.masked) while \(what)",
                               detail: "nothing came from the broker for two heartbeat intervals",
                               hint: "the broker or the network stalled; reconnect", libraryStatus: status)
        case AMQP_STATUS_CONNECTION_CLOSED.rawValue, AMQP_STATUS_SOCKET_CLOSED.rawValue,
             AMQP_STATUS_SOCKET_ERROR.rawValue, AMQP_STATUS_TCP_ERROR.rawValue:
            let sys = status == AMQP_STATUS_SOCKET_ERROR.rawValue && errnoNow != 0
                ? "; \(String(cString: strerror(errnoNow)))" : ""
            return BrokerError(.connectionLost, "lost the connection to \(url.masked) while \(what)",
                               detail: "rabbitmq-c: \(libraryErrorString(status))\(sys)",
                               hint: "the broker closed the socket or the network failed; the broker log says why (\"missed heartbeats\" means the event loop did not call nextEvent every heartbeat/2)",
                               libraryStatus: status)
        case AMQP_STATUS_SSL_ERROR.rawValue:
            return BrokerError(.tls, "TLS failed on the connection to \(url.masked) while \(what)",
                               detail: "rabbitmq-c: \(libraryErrorString(status))", hint: "reconnect",
                               libraryStatus: status)
        case AMQP_STATUS_TIMEOUT.rawValue:
            return BrokerError(.timeout, "\(what) on \(url.masked) timed out",
                               detail: "no reply within the RPC timeout of \(rpcTimeout.map { "\($0) s" } ?? "none")",
                               hint: "the broker is overloaded or stalled; rabbitmq-c closes the connection after an RPC timeout, so reconnect",
                               libraryStatus: status)
        default:
            return BrokerError(.protocolError, "protocol error on \(url.masked) while \(what)",
                               detail: "rabbitmq-c: \(libraryErrorString(status))", hint: "reconnect",
                               libraryStatus: status)
        }
    }

    func notOpen(_ what: String) -> BrokerError {
        BrokerError(.notOpen, "the connection to \(url.masked) is not open (\(what))",
                    detail: state == nil ? "connect() was not called, or the connection was closed or lost" : "connection unusable",
                    hint: "call connect() first, or again after an error")
    }
}
