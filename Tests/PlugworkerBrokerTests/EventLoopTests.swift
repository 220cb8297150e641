import Foundation
import Glibc
import Testing
import PlugworkerCore
@testable import PlugworkerBroker

/// The event-loop contract: drain before blocking, and call in at least every
/// half heartbeat.
@Suite("Event loop contract", .enabled(if: BrokerTest.enabled, BrokerTest.skipReason))
struct EventLoopTests {
    @Test("heartbeats: idle 8 s with a 2 s heartbeat, nextEvent(0) every 0.5 s, and the connection lives")
    func heartbeatSurvival() throws {
        let name = BrokerTest.unique("heartbeat")
        let c = try BrokerTest.connect(heartbeat: 2, name: name)
        defer { c.close() }
        #expect(c.negotiatedHeartbeat == 2)
        let queue = try c.queueDeclare(name: "", durable: false, exclusive: true).name

        let start = Date()
        while Date().timeIntervalSince(start) < 8 {
            #expect(try c.nextEvent(timeout: 0) == nil)
            BrokerTest.sleep(0.5)
        }

        try c.basicPublish(exchange: "", routingKey: queue, body: Array("alive".utf8))
        try c.basicConsume(queue: queue)
        let d = try #require(try BrokerTest.nextDelivery(c))
        #expect(d.body == Array("alive".utf8))
        try c.basicAck(deliveryTag: d.deliveryTag)

        let rows = try BrokerTest.connections(named: name, columns: ["timeout", "state"])
        #expect(rows.count == 1, "rabbitmqctl list_connections: \(rows)")
        #expect(rows.first?["timeout"] == 2)
        #expect(rows.first?["state"] == "running")
    }

    @Test("heartbeats: a loop that stops calling in loses the connection")
    func heartbeatMissed() throws {
        let c = try BrokerTest.connect(heartbeat: 1)
        defer { c.close() }
        BrokerTest.sleep(5)  // two missed intervals and then some
        var failure: BrokerError?
        do throws(BrokerError) {
            for _ in 0..<20 { _ = try c.nextEvent(timeout: 0.25) }
        } catch {
            failure = error
        }
        let error = try #require(failure, "the broker should have closed the connection")
        let code = error.code
        let expected: [BrokerError.Code] = [.connectionLost, .heartbeatTimeout, .connectionClosed]
        #expect(expected.contains(code), "\(error)")
        #expect(error.isConnectionFatal)
        #expect(!c.isOpen)
    }

    @Test("draining: 1000 messages with prefetch 100 via epoll-style waits, nextEvent(0) and hasBufferedData")
    func draining() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = BrokerTest.unique("drain")
        try c.queueDeclare(name: queue, durable: false)
        defer { _ = try? c.queueDelete(name: queue) }
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 64)
        for i in 0..<1000 {
            try c.basicPublish(exchange: "", routingKey: queue,
                               properties: MessageProperties(headers: JSONObject(["n": .int(Int64(i))]), deliveryMode: 1), body: body)
        }
        try c.basicQos(prefetchCount: 100, global: false)
        try c.basicConsume(queue: queue)

        var received = 0
        var expected: Int64 = 0
        var sawBuffered = false
        let deadline = Date().addingTimeInterval(30)
        while received < 1000 && Date() < deadline {
            if !c.hasBufferedData {
                // Block like the Hub does: only on the socket.
                var pfd = pollfd(fd: c.fileDescriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 1000)
            }
            // Drain everything rabbitmq-c holds before blocking again.
            while let event = try c.nextEvent(timeout: 0) {
                guard case .delivery(let d) = event else {
                    Issue.record("unexpected \(event)")
                    continue
                }
                #expect(d.properties.headers?["n"] == .int(expected), "in order")
                expected += 1
                try c.basicAck(deliveryTag: d.deliveryTag)
                received += 1
                if c.hasBufferedData { sawBuffered = true }
            }
            #expect(!c.hasBufferedData, "nextEvent(0) returned nil, so nothing is left buffered")
        }
        #expect(received == 1000)
        #expect(sawBuffered, "several deliveries arrive in one read: the reason for draining")
        #expect(try c.queueDeclare(name: queue, passive: true).messageCount == 0)
    }

    @Test("an RPC in mid-stream parks deliveries in the frame queue; hasBufferedData shows them")
    func rpcParksDeliveries() throws {
        let c = try BrokerTest.connect()
        defer { c.close() }
        let queue = try c.queueDeclare(name: "", durable: false, exclusive: true).name
        for _ in 0..<50 { try c.basicPublish(exchange: "", routingKey: queue, body: [1, 2, 3]) }
        try c.basicConsume(queue: queue, noAck: true)
        BrokerTest.sleep(0.3)  // let the deliveries reach our socket
        // The declare's reply comes after the deliveries on the wire; rabbitmq-c
        // queues them while it waits.
        try c.queueDeclare(name: "", durable: false, exclusive: true)
        #expect(c.hasBufferedData)
        var pfd = pollfd(fd: c.fileDescriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pfd, 1, 0) == 0, "the socket is not readable: only draining finds them")
        var n = 0
        while let event = try c.nextEvent(timeout: 0) {
            if case .delivery = event { n += 1 }
        }
        #expect(n == 50)
    }
}
