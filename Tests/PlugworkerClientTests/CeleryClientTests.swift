import Foundation
import Testing
@testable import PlugworkerClient

/// The client against a real RabbitMQ, with the test playing the worker:
/// it takes the task message off the queue and publishes the result a
/// worker would (`PLUGWORKER_TEST_BROKER`, default localhost;
/// `PLUGWORKER_NO_BROKER=1` skips).
@Suite("CeleryClient against RabbitMQ",
       .enabled(if: ProcessInfo.processInfo.environment["PLUGWORKER_NO_BROKER"] != "1", "PLUGWORKER_NO_BROKER=1"))
struct CeleryClientTests {
    let brokerURL = ProcessInfo.processInfo.environment["PLUGWORKER_TEST_BROKER"] ?? "amqp://guest:guest@localhost:5672//"

    /// A fake worker on a private queue.
    final class FakeWorker {
        let queue = "pw-test-client-\(UUID().uuidString.prefix(8).lowercased())"
        let connection: AMQPConnection

        init(url: String) throws {
            connection = AMQPConnection(url: try BrokerURL(parsing: url), heartbeat: 0)
            try connection.connect(timeout: 5)
            _ = try connection.queueDeclare(name: queue, durable: true, exclusive: false, autoDelete: false)
            _ = try connection.basicConsume(queue: queue, noAck: true)
        }

        /// The next task message, decoded.
        func receive() throws -> TaskMessage? {
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                if case .delivery(let d)? = try connection.nextEvent(timeout: 0.5) {
                    return try TaskMessageDecoder.decode(d, maxMessageSize: 1 << 20)
                }
            }
            return nil
        }

        func reply(to request: TaskMessage, _ state: ResultMessage.State) throws {
            let result = ResultMessage(for: request, state: state)
            try connection.basicPublish(exchange: "", routingKey: request.replyTo!, properties: result.properties, body: result.body)
        }

        func close() {
            _ = try? connection.queueDelete(name: queue)
            _ = try? connection.exchangeDelete(name: queue)
            connection.close()
        }
    }

    @Test("send, then get: the message a Python client sends, the value the worker returned")
    func success() throws {
        let worker = try FakeWorker(url: brokerURL)
        defer { worker.close() }
        let client = try CeleryClient(brokerURL: brokerURL)
        defer { client.close() }
        let result = try client.send("arith.add", args: [2, 3], options: TaskOptions(queue: worker.queue))
        #expect(result.state == "PENDING" && !result.ready())
        let request = try #require(try worker.receive())
        #expect(request.taskName == "arith.add" && request.id == result.id)
        #expect(request.replyTo == client.replyQueue)
        #expect(request.origin == client.origin)
        #expect(Set(request.headers.members.map(\.key)).isSuperset(of: TaskMessageEncoder.standardHeaders))
        try worker.reply(to: request, .started(pid: 1, hostname: "w@h"))
        try worker.reply(to: request, .success(result: Array("5".utf8)))
        #expect(try result.get(timeout: 5) == 5)
        #expect(result.state == "SUCCESS" && result.ready())
    }

    @Test("a failure throws .taskFailed with the exception; nothing in time throws .timeout")
    func failureAndTimeout() throws {
        let worker = try FakeWorker(url: brokerURL)
        defer { worker.close() }
        let client = try CeleryClient(brokerURL: brokerURL)
        defer { client.close() }
        let result = try client.send("arith.div", args: [1, 0], options: TaskOptions(queue: worker.queue))
        let request = try #require(try worker.receive())
        #expect(throws: ClientError.self) { try result.get(timeout: 0.2) }
        do {
            _ = try result.get(timeout: 0.2)
        } catch {
            #expect(error.code == .timeout)
        }
        try worker.reply(to: request, .failure(TaskException(type: "ZeroDivisionError", module: "builtins",
                                                             message: "integer division or modulo by zero"), traceback: "tb"))
        do {
            _ = try result.get(timeout: 5)
            Issue.record("get() returned for a failed task")
        } catch {
            #expect(error.code == .taskFailed)
            #expect(error.failure?.excType == "ZeroDivisionError")
            #expect(error.failure?.traceback == "tb")
            #expect(error.message == "ZeroDivisionError: integer division or modulo by zero")
        }
    }

    @Test("a refused exchange fails that send only: the client still gets results")
    func refusedExchangeRecovers() throws {
        let worker = try FakeWorker(url: brokerURL)
        defer { worker.close() }
        let client = try CeleryClient(brokerURL: brokerURL)
        defer { client.close() }
        let missing = Signature(task: "t", options: ["exchange": .string("pw-test-missing-\(UUID().uuidString.prefix(8))"), "routing_key": "x"])
        do {
            try client.send(missing)
            Issue.record("sent to a missing exchange")
        } catch {
            #expect(error.code == .broker)
        }
        let result = try client.send("arith.add", args: [1, 1], options: TaskOptions(queue: worker.queue))
        let request = try #require(try worker.receive())
        try worker.reply(to: request, .success(result: Array("2".utf8)))
        #expect(try result.get(timeout: 5) == 2)
    }

    @Test("an unreachable broker is a .broker error at once")
    func unreachable() {
        do {
            _ = try CeleryClient(brokerURL: "amqp://guest:guest@127.0.0.1:1//", connectTimeout: 2)
            Issue.record("connected to port 1")
        } catch {
            #expect(error.code == .broker)
            #expect(error.brokerError?.code == .connectionRefused)
        }
    }
}
