import Foundation
import Testing
import PlugworkerCore
@testable import PlugworkerBroker

@Suite("AMQP connection against RabbitMQ", .enabled(if: BrokerTest.enabled, BrokerTest.skipReason))
struct AMQPConnectionTests {
    @Test("connects, reports the negotiated settings and the server's properties")
    func connects() throws {
        let c = try BrokerTest.connect(heartbeat: 30)
        defer { c.close() }
        #expect(c.isOpen)
        #expect(c.fileDescriptor >= 0)
        #expect(c.negotiatedHeartbeat == 30)
        #expect(c.negotiatedFrameMax == 131_072)
        #expect(c.serverProperties["product"] == "RabbitMQ")
        #expect(!c.hasBufferedData)
        #expect(try c.nextEvent(timeout: 0) == nil)
        c.close()
        #expect(!c.isOpen)
        #expect(c.fileDescriptor == -1)
        #expect(throws: BrokerError.self) { try c.queueDeclare(name: "x") }
    }

    @Test("publishes, consumes and acks a message with every property")
    func publishConsumeAck() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = BrokerTest.unique("pca")
        let declared = try c.queueDeclare(name: queue, durable: false)
        #expect(declared.name == queue)
        #expect(declared.messageCount == 0)
        defer { _ = try? c.queueDelete(name: queue) }

        let headers = JSONObject([
            "lang": "py", "task": "arith.add", "id": "f5d1c1c2-0000-4000-8000-000000000001", "retries": 0,
            "eta": nil, "timelimit": [nil, nil], "big": 9_007_199_254_740_993, "ratio": 0.25, "ignore_result": false,
            "stamps": ["a": ["b": 1]],
        ] as KeyValuePairs<String, JSON>)
        let properties = MessageProperties(
            contentType: "application/json", contentEncoding: "utf-8", headers: headers, deliveryMode: 2,
            priority: 3, correlationID: "f5d1c1c2-0000-4000-8000-000000000001", replyTo: "reply-queue",
            expiration: "60000", messageID: "mid", timestamp: 1_700_000_000, type: "t", userID: "guest", appID: "app")
        let body = Array(#"[[2, 3], {}, {"callbacks": null}]"#.utf8)
        try c.basicPublish(exchange: "", routingKey: queue, properties: properties, body: body)

        let tag = try c.basicConsume(queue: queue)
        #expect(tag.hasPrefix("amq.ctag-"))
        #expect(c.consumerTags == [tag])
        let d = try #require(try BrokerTest.nextDelivery(c))
        #expect(d.consumerTag == tag)
        #expect(d.exchange == "")
        #expect(d.routingKey == queue)
        #expect(!d.redelivered)
        #expect(d.body == body)
        #expect(d.properties == properties)
        try c.basicAck(deliveryTag: d.deliveryTag)

        try c.basicCancel(consumerTag: tag)
        #expect(c.consumerTags.isEmpty)
        let after = try c.queueDeclare(name: queue, passive: true)
        #expect(after.messageCount == 0)
        #expect(after.consumerCount == 0)
    }

    @Test("absent properties stay absent; an empty body arrives empty")
    func minimalMessage() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = try c.queueDeclare(name: "", durable: false, exclusive: true, autoDelete: true).name
        #expect(queue.hasPrefix("amq.gen-"))
        try c.basicPublish(exchange: "", routingKey: queue, body: [UInt8]())
        try c.basicConsume(queue: queue, noAck: true)
        let d = try #require(try BrokerTest.nextDelivery(c))
        #expect(d.body.isEmpty)
        #expect(d.properties == MessageProperties())
    }

    @Test("a rejected message is requeued and comes back redelivered")
    func rejectRequeue() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = BrokerTest.unique("requeue")
        try c.queueDeclare(name: queue, durable: false)
        defer { _ = try? c.queueDelete(name: queue) }
        try c.basicPublish(exchange: "", routingKey: queue, body: Array("once".utf8))
        try c.basicConsume(queue: queue)
        let first = try #require(try BrokerTest.nextDelivery(c))
        #expect(!first.redelivered)
        try c.basicReject(deliveryTag: first.deliveryTag, requeue: true)
        let second = try #require(try BrokerTest.nextDelivery(c))
        #expect(second.redelivered)
        #expect(second.body == Array("once".utf8))
        try c.basicNack(deliveryTag: second.deliveryTag, requeue: false)
        #expect(try c.queueDeclare(name: queue, passive: true).messageCount == 0)
    }

    @Test("406 on a redeclare with other flags: the error carries the code and the connection goes on")
    func redeclarePreconditionFailed() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = BrokerTest.unique("406")
        try c.queueDeclare(name: queue, durable: false, arguments: JSONObject(["x-message-ttl": 60000]))
        defer { _ = try? c.queueDelete(name: queue) }
        // Same flags and arguments: fine.
        try c.queueDeclare(name: queue, durable: false, arguments: JSONObject(["x-message-ttl": 60000]))

        do {
            try c.queueDeclare(name: queue, durable: false, arguments: JSONObject(["x-message-ttl": 1000]))
            Issue.record("the redeclare should have failed")
        } catch {
            #expect(error.code == .channelClosed)
            #expect(error.replyCode == 406)
            #expect(error.replyText?.hasPrefix("PRECONDITION_FAILED") == true)
            #expect(error.classID == 50 && error.methodID == 10)
            #expect(error.message.contains(queue))
            #expect(!error.isConnectionFatal)
        }
        #expect(c.isOpen)
        #expect(c.channelGeneration == 1)
        // The event loop hears of it too.
        guard case .channelClosed(406, _)? = try c.nextEvent(timeout: 0) else {
            Issue.record("expected .channelClosed(406)")
            return
        }
        // And the connection still declares, publishes and consumes.
        let other = BrokerTest.unique("406-after")
        try c.queueDeclare(name: other, durable: false)
        defer { _ = try? c.queueDelete(name: other) }
        try c.basicPublish(exchange: "", routingKey: other, body: Array("still here".utf8))
        try c.basicConsume(queue: other)
        let d = try #require(try BrokerTest.nextDelivery(c))
        #expect(d.body == Array("still here".utf8))
        try c.basicAck(deliveryTag: d.deliveryTag)
    }

    @Test("404 on a passive declare of a missing queue; an async 406 (double ack) arrives as an event")
    func notFoundAndAsyncClose() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        do {
            try c.queueDeclare(name: BrokerTest.unique("missing"), passive: true)
            Issue.record("the passive declare should have failed")
        } catch {
            #expect(error.code == .channelClosed)
            #expect(error.replyCode == 404)
        }
        _ = try c.nextEvent(timeout: 0)  // the .channelClosed(404) notice

        let queue = try c.queueDeclare(name: "", durable: false, exclusive: true).name
        try c.basicPublish(exchange: "", routingKey: queue, body: [1])
        try c.basicConsume(queue: queue)
        let d = try #require(try BrokerTest.nextDelivery(c))
        try c.basicAck(deliveryTag: d.deliveryTag)
        try c.basicAck(deliveryTag: d.deliveryTag)  // unknown tag now: the broker closes the channel
        guard case .channelClosed(406, let text)? = try BrokerTest.nextEvent(c) else {
            Issue.record("expected .channelClosed(406)")
            return
        }
        #expect(text.contains("unknown delivery tag"))
        #expect(c.channelGeneration == 2)
        #expect(c.consumerTags.isEmpty)
        #expect(c.isOpen)
        try c.queueDeclare(name: BrokerTest.unique("after-async"), durable: false, exclusive: true)
    }

    @Test("the broker's basic.cancel arrives when another connection deletes the queue")
    func consumerCancelNotification() throws {
        let consumer = try BrokerTest.connect()
        defer { consumer.close() }
        let admin = try BrokerTest.connect()
        defer { admin.close() }
        let queue = BrokerTest.unique("cancel")
        try consumer.queueDeclare(name: queue, durable: false)
        let tag = try consumer.basicConsume(queue: queue)
        try admin.queueDelete(name: queue)
        let event = try BrokerTest.nextEvent(consumer)
        guard case .consumerCancelled(let cancelled)? = event else {
            Issue.record("expected .consumerCancelled, got \(String(describing: event))")
            return
        }
        #expect(cancelled == tag)
        #expect(consumer.consumerTags.isEmpty)
        #expect(consumer.isOpen)
        #expect(consumer.channelGeneration == 0)
    }

    @Test("a mandatory message with no route comes back as .returned")
    func returned() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let key = BrokerTest.unique("nowhere")
        try c.basicPublish(exchange: "", routingKey: key, mandatory: true,
                           properties: MessageProperties(contentType: "text/plain"), body: Array("lost".utf8))
        guard case .returned(let r)? = try BrokerTest.nextEvent(c) else {
            Issue.record("expected .returned")
            return
        }
        #expect(r.replyCode == 312)
        #expect(r.replyText == "NO_ROUTE")
        #expect(r.routingKey == key)
        #expect(r.body == Array("lost".utf8))
        #expect(r.properties.contentType == "text/plain")
    }

    @Test("publisher confirms arrive as .publisherAck")
    func confirms() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = try c.queueDeclare(name: "", durable: false, exclusive: true).name
        try c.confirmSelect()
        var last: UInt64 = 0
        for _ in 0..<3 { last = try c.basicPublish(exchange: "", routingKey: queue, body: [0]) }
        #expect(last == 3)
        var confirmed: UInt64 = 0
        while confirmed < 3 {
            guard case .publisherAck(let seq, _)? = try BrokerTest.nextEvent(c) else {
                Issue.record("expected .publisherAck")
                return
            }
            confirmed = max(confirmed, seq)
        }
        #expect(confirmed == 3)
    }

    @Test("an operator's close_connection arrives as .connectionClosed 320")
    func forcedClose() throws {
        let name = BrokerTest.unique("forced")
        let c = try BrokerTest.connect(name: name)
        defer { c.close() }
        let pid = try #require(try BrokerTest.brokerPid(of: c))
        _ = try BrokerTest.rabbitmqctl(["close_connection", pid, "test says goodbye"])
        do {
            for _ in 0..<10 { _ = try c.nextEvent(timeout: 1) }
            Issue.record("expected the connection to be closed")
        } catch {
            #expect(error.code == .connectionClosed)
            #expect(error.replyCode == 320)
            #expect(error.replyText?.contains("test says goodbye") == true)
            #expect(error.isConnectionFatal)
        }
        #expect(!c.isOpen)
        // connect() again starts afresh.
        try c.connect(timeout: 5)
        #expect(c.isOpen)
    }

    @Test("abandon() forgets the connection without touching the broker protocol")
    func abandon() throws {
        let c = try BrokerTest.connect()
        #expect(c.isOpen)
        c.abandon()
        #expect(!c.isOpen)
        #expect(c.fileDescriptor == -1)
        do {
            _ = try c.nextEvent(timeout: 0)
            Issue.record("expected .notOpen")
        } catch {
            #expect(error.code == .notOpen)
        }
    }
}

@Suite("Connection failures", .enabled(if: BrokerTest.enabled, BrokerTest.skipReason))
struct ConnectionFailureTests {
    func failure(_ text: String, tls: TLSOptions = TLSOptions(), timeout: Double = 5) throws -> BrokerError? {
        let c = AMQPConnection(url: try BrokerURL(parsing: text), heartbeat: 10, tls: tls)
        do {
            try c.connect(timeout: timeout)
            c.close()
            return nil
        } catch {
            #expect(!c.isOpen)
            #expect(!error.description.contains("s3cr3t"), "password leaked: \(error)")
            return error
        }
    }

    @Test("nothing listening: connection refused, with a hint")
    func refused() throws {
        let e = try #require(try failure("amqp://guest:s3cr3t@127.0.0.1:1//"))
        #expect(e.code == .connectionRefused)
        #expect(e.hint.contains("RabbitMQ running"))
        #expect(e.message.contains("amqp://guest:**@127.0.0.1:1//"))
    }

    @Test("unknown host")
    func unknownHost() throws {
        let e = try #require(try failure("amqp://guest:s3cr3t@no-such-host.invalid//"))
        #expect(e.code == .hostNotFound)
    }

    @Test("wrong password: 403 ACCESS_REFUSED")
    func wrongPassword() throws {
        var url = BrokerTest.url
        url.password = "s3cr3t-wrong"
        let c = AMQPConnection(url: url)
        do {
            try c.connect(timeout: 5)
            Issue.record("login should have failed")
        } catch {
            #expect(error.code == .authenticationFailed)
            #expect(error.replyCode == 403)
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    @Test("unknown virtual host")
    func unknownVhost() throws {
        var url = BrokerTest.url
        url.virtualHost = BrokerTest.unique("vhost")
        let c = AMQPConnection(url: url)
        do {
            try c.connect(timeout: 5)
            Issue.record("open should have failed")
        } catch {
            #expect(error.code == .vhostNotFound)
            #expect(error.replyCode == 530)
            #expect(error.hint.contains("add_vhost"))
        }
    }

    @Test("amqps:// to a plain AMQP port fails as a TLS error")
    func tlsToPlainPort() throws {
        var url = BrokerTest.url
        url.scheme = "amqps"
        let c = AMQPConnection(url: url)
        do {
            try c.connect(timeout: 5)
            Issue.record("TLS should have failed")
        } catch {
            #expect(error.code == .tls)
            #expect(error.hint.contains("5671"))
        }
    }

    @Test("a CA file that does not exist is a TLS error naming it")
    func missingCAFile() throws {
        let e = try #require(try failure("amqps://guest:s3cr3t@localhost//", tls: TLSOptions(caFile: "/nonexistent/ca.pem")))
        #expect(e.code == .tls)
        #expect(e.message.contains("/nonexistent/ca.pem"))
    }
}
