import Foundation
import Testing
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore
@testable import PlugworkerWorker

/// The event captures copied from `/work/shared/wire-vectors` (data read
/// from the source tree, not bundle resources).
private enum EventVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("EventVectors")

    static func load(_ name: String) throws -> JSON {
        let data = try Data(contentsOf: directory.appendingPathComponent(name + ".json"))
        return try JSON.parse([UInt8](data))
    }

    /// The recorded event body.
    static func body(_ name: String) throws -> JSON { try load(name)["body"] ?? .null }

    /// The routing key the event has when sent alone.
    static func routingKey(_ name: String) throws -> String {
        let v = try load(name)
        return (v["routing_key_if_sent_alone"] ?? v["routing_key"])?.stringValue ?? ""
    }

    /// A task message decoded from a task vector.
    static func taskMessage(_ name: String) throws -> TaskMessage {
        let v = try load(name)
        let m = v["messages"]?.arrayValue?.first ?? v
        let p = m["properties"] ?? .null
        let props = MessageProperties(contentType: p["content_type"]?.stringValue,
                                      contentEncoding: p["content_encoding"]?.stringValue,
                                      headers: p["headers"]?.objectValue,
                                      deliveryMode: 2, priority: 0,
                                      correlationID: p["correlation_id"]?.stringValue,
                                      replyTo: p["reply_to"]?.stringValue)
        return try TaskMessageDecoder.decode(properties: props, body: (m["body"] ?? .null).serializedBytes,
                                             maxMessageSize: 1 << 20)
    }
}

private func keys(_ value: JSON) -> Set<String> {
    Set(value.objectValue?.members.map(\.key) ?? [])
}

private func parse(_ event: Event) throws -> JSON { try JSON.parse(event.body) }

/// The fields whose values depend on the sender and the moment.
private let environmentFields: Set<String> = ["hostname", "pid", "clock", "timestamp", "utcoffset"]

private func withoutEnvironment(_ value: JSON) -> [String: JSON] {
    var out: [String: JSON] = [:]
    for m in value.objectValue?.members ?? [] where !environmentFields.contains(m.key) { out[m.key] = m.value }
    return out
}

private let common = Event.Common(hostname: "w1@capture", timestamp: 1795258870.642361, utcoffset: 0.0,
                                  pid: 10977, clock: 3)
private let status = Event.WorkerStatus(freq: 2.0, active: 1, processed: 15, loadavg: [1.63, 0.54, 0.21])

/// Records what a dispatcher publishes.
private final class Recorder {
    struct Message {
        var exchange: String
        var routingKey: String
        var properties: MessageProperties
        var body: [UInt8]
        var json: JSON { (try? JSON.parse(body)) ?? .null }
    }

    var messages: [Message] = []
    var clockValue = 0

    func dispatcher(enabled: Bool = true, batch: Bool = false, limit: Int = 100) -> EventDispatcher {
        EventDispatcher(hostname: "w1@capture", pid: 10977, enabled: enabled, batchTaskEvents: batch,
                        batchLimit: limit,
                        publish: { [unowned self] in
                            self.messages.append(Message(exchange: $0, routingKey: $1, properties: $2, body: $3))
                        },
                        clock: { [unowned self] in
                            self.clockValue += 1
                            return self.clockValue
                        })
    }
}

@Suite("Events")
struct EventTests {
    // MARK: Field sets against the captures

    static let builders: [(vector: String, build: @Sendable () -> Event)] = [
        ("event-worker-online", { Event.workerOnline(common, status) }),
        ("event-worker-heartbeat", { Event.workerHeartbeat(common, status) }),
        ("event-worker-offline", { Event.workerOffline(common, status) }),
        ("event-task-received", { try! Event.taskReceived(common, EventVectors.taskMessage("task-v2-basic")) }),
        ("event-task-started", { Event.taskStarted(common, id: "f19f6f34-55b7-4bcb-9c2a-1d8bd5df1a7d") }),
        ("event-task-succeeded", {
            Event.taskSucceeded(common, id: "f19f6f34-55b7-4bcb-9c2a-1d8bd5df1a7d", result: "5",
                                runtime: 0.007291193000014573)
        }),
        ("event-task-failed", {
            Event.taskFailed(common, id: "d5102ab3-3cf6-4b40-af79-c35f3ed58e54", exception: "ValueError('boom')",
                             traceback: "Traceback (most recent call last):\nValueError: boom\n")
        }),
        ("event-task-failed-notregistered", {
            Event.taskFailed(common, id: "14a3e4f4-31de-4d42-a200-4cf01a8fb82a",
                             exception: Event.notRegisteredRepr("tasks.unknown"), traceback: nil)
        }),
        ("event-task-retried", {
            Event.taskRetried(common, id: "b7dc255c-de56-4a03-b049-755036c495a3", exception: "RuntimeError('try 0')",
                              traceback: "Traceback (most recent call last):\n")
        }),
        ("event-task-revoked", {
            Event.taskRevoked(common, id: "9dbdfffb-75e8-4896-a7f6-ada8339d28a5", terminated: false, signum: nil,
                              expired: false)
        }),
        ("event-task-revoked-expired", {
            Event.taskRevoked(common, id: "589e2b25-dfb6-4245-a638-b342806fd2ec", terminated: false, signum: nil,
                              expired: true)
        }),
        ("event-task-rejected", {
            Event.taskRejected(common, id: "e0f88028-2140-4501-bb17-dcfe2afaf93a", requeue: false)
        }),
    ]

    @Test("each builder writes exactly the capture's field set, type and routing key",
          arguments: builders.map(\.vector))
    func fieldSets(vector: String) throws {
        let build = Self.builders.first { $0.vector == vector }!.build
        let event = build()
        let ours = try parse(event)
        let recorded = try EventVectors.body(vector)
        #expect(keys(ours) == keys(recorded))
        #expect(ours["type"] == recorded["type"])
        #expect(event.type == recorded["type"]?.stringValue)
        #expect(event.routingKey == (try EventVectors.routingKey(vector)))
        // Same JSON kinds field by field (int stays int, float stays float).
        for m in recorded.objectValue!.members {
            let mine = ours[m.key]!
            #expect(kind(mine) == kind(m.value), "\(vector): \(m.key)")
        }
    }

    @Test("the common fields have the capture's values where they are not environment-specific")
    func commonValues() throws {
        let ours = try parse(Event.workerHeartbeat(common, status))
        let recorded = try EventVectors.body("event-worker-heartbeat")
        var expected = withoutEnvironment(recorded)
        expected["sw_ident"] = "plugworker"
        expected["sw_ver"] = .string(Event.softwareVersion)
        #expect(withoutEnvironment(ours) == expected)
        #expect(ours["hostname"] == "w1@capture")
        #expect(ours["pid"] == .int(10977))
        #expect(ours["clock"] == .int(3))
        #expect(ours["utcoffset"] == .double(0.0))
        #expect(ours["timestamp"] == .double(1795258870.642361))
    }

    @Test("the body is json.dumps text: ', ' and ': ' separators, common fields first")
    func textLayout() {
        let e = Event.taskStarted(Event.Common(hostname: "w1@capture", timestamp: 1.5, utcoffset: -2.0, pid: 7,
                                               clock: 11), id: "abc")
        #expect(e.text == #"{"type": "task-started", "hostname": "w1@capture", "timestamp": 1.5, "utcoffset": -2.0, "pid": 7, "clock": 11, "uuid": "abc"}"#)
    }

    @Test("task-received matches Python's for every captured task, values included")
    func receivedValues() throws {
        let batch = try EventVectors.load("event-task-multi-batch")["body"]!.arrayValue!
        let tasks = ["task-v2-basic", "task-v2-kwargs", "task-v2-countdown-expires-priority", "task-v2-eta-absolute",
                     "task-v2-timelimit", "task-v2-link-and-link_error", "task-v2-custom-header-and-shadow"]
        for name in tasks {
            let m = try EventVectors.taskMessage(name)
            let recorded = try #require(batch.first { $0["uuid"]?.stringValue == m.id }, "\(name)")
            let ours = try parse(Event.taskReceived(common, m))
            #expect(withoutEnvironment(ours) == withoutEnvironment(recorded), "\(name)")
        }
    }

    @Test("eta/expires keep an offset as sent and turn Z or naive times into +00:00")
    func isoText() {
        #expect(Event.isoText("2026-11-21T11:01:13.786105+00:00", 0) == "2026-11-21T11:01:13.786105+00:00")
        #expect(Event.isoText("2026-11-21T13:01:13+02:00", 0) == "2026-11-21T13:01:13+02:00")
        let epoch = try! CeleryTime.parse("2026-11-21T11:01:13.786105Z")
        #expect(Event.isoText("2026-11-21T11:01:13.786105Z", epoch) == "2026-11-21T11:01:13.786105+00:00")
        #expect(Event.isoText("2031-01-02T03:04:05", try! CeleryTime.parse("2031-01-02T03:04:05"))
            == "2031-01-02T03:04:05+00:00")
        #expect(Event.isoText(nil, nil) == nil)
    }

    // MARK: Transport

    @Test("properties: JSON, utf-8, transient, priority 0, hostname header — as captured")
    func properties() throws {
        let p = Event.properties(hostname: "w1@capture")
        let recorded = try EventVectors.load("event-worker-heartbeat")["properties"]!
        #expect(p.contentType == recorded["content_type"]?.stringValue)
        #expect(p.contentEncoding == recorded["content_encoding"]?.stringValue)
        #expect(p.deliveryMode.map(Int64.init) == recorded["delivery_mode"]?.int64Value)
        #expect(p.priority.map(Int64.init) == recorded["priority"]?.int64Value)
        #expect(p.headers.map { JSON.object($0) } == recorded["headers"])
        #expect(p.correlationID == nil && p.replyTo == nil && p.messageID == nil && p.type == nil)
    }

    @Test("routing keys: '-' becomes '.'")
    func routingKeys() {
        #expect(Event.routingKey(for: "worker-heartbeat") == "worker.heartbeat")
        #expect(Event.routingKey(for: "task-revoked") == "task.revoked")
        #expect(Event.routingKey(for: "plain") == "plain")
    }

    // MARK: Host facts

    @Test("utcoffset is hours west of UTC (Python's time.timezone / 3600), never -0.0")
    func utcoffsetSign() {
        let saved = getenv("TZ").map { String(cString: $0) }
        defer {
            if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
            tzset()
        }
        let cases: [(String, Double)] = [("UTC0", 0.0), ("XXX-2", -2.0), ("EST5", 5.0), ("IST-5:30", -5.5)]
        for (tz, expected) in cases {
            setenv("TZ", tz, 1)
            tzset()
            let v = Event.utcoffset(at: 1_795_258_870)
            #expect(v == expected, "\(tz)")
            #expect(v.sign == .plus || v != 0, "\(tz) gave -0.0")
        }
        setenv("TZ", "UTC0", 1)
        tzset()
        let text = Event.taskStarted(Event.Common(hostname: "h", timestamp: 1, utcoffset: Event.utcoffset(), pid: 1,
                                                  clock: 1), id: "x").text
        #expect(text.contains(#""utcoffset": 0.0,"#))
    }

    @Test("loadavg: three non-negative floats with at most 2 decimals")
    func loadavg() {
        let l = Event.loadAverage()
        #expect(l.count == 3)
        for v in l {
            #expect(v >= 0)
            #expect(((v * 100).rounded() / 100) == v)
        }
        #expect(Event.parseLoadAverage(Array("1.634 0.5 0.205 2/345 6789\n".utf8)) == [1.63, 0.5, 0.21])
        #expect(Event.parseLoadAverage(Array("garbage".utf8)) == [0, 0, 0])
        #expect(Event.parseLoadAverage([UInt8]()) == [0, 0, 0])
    }

    // MARK: Reprs

    @Test("result is the Python repr of the JSON return value")
    func resultRepr() {
        #expect(EventDispatcher.resultRepr(json: Array("5".utf8)) == "5")
        #expect(EventDispatcher.resultRepr(json: Array(#""HÉLLO""#.utf8)) == "'HÉLLO'")
        #expect(EventDispatcher.resultRepr(json: Array(#"{"words": 3}"#.utf8)) == "{'words': 3}")
        #expect(EventDispatcher.resultRepr(json: Array("null".utf8)) == "None")
        #expect(EventDispatcher.resultRepr(json: Array("[1.0, true, \"it's\"]".utf8)) == #"[1.0, True, "it's"]"#)
        #expect(EventDispatcher.resultRepr(.bool(false)) == "False")
        #expect(EventDispatcher.resultRepr(json: Array("{not json".utf8)) == "{not json")
        let long = EventDispatcher.resultRepr(.string(String(repeating: "a", count: 5000)))
        #expect(long.utf8.count <= EventDispatcher.resultReprMaxLength + 3 && long.hasSuffix("..."))
    }

    @Test("exception is the Python repr: ValueError('boom'), NotRegistered('name')")
    func exceptionRepr() throws {
        #expect(TaskException.valueError("boom").description == "ValueError('boom')")
        #expect(Event.notRegisteredRepr("tasks.unknown") == "NotRegistered('tasks.unknown')")
        let r = Recorder()
        let d = r.dispatcher()
        d.taskFailed(id: "u", error: TaskException(type: "ValueError", module: "builtins", message: "boom",
                                                   traceback: "tb"))
        d.taskNotRegistered(id: "v", name: "tasks.unknown")
        #expect(r.messages[0].json["exception"] == "ValueError('boom')")
        #expect(r.messages[0].json["traceback"] == "tb")
        #expect(r.messages[1].json["exception"] == "NotRegistered('tasks.unknown')")
        #expect(r.messages[1].json["traceback"] == nil)
        #expect(keys(r.messages[1].json) == keys(try EventVectors.body("event-task-failed-notregistered")))
    }

    // MARK: Dispatcher

    @Test("task events only while enabled; worker events always; one clock tick per event")
    func enabledGate() {
        let r = Recorder()
        let d = r.dispatcher(enabled: false)
        d.workerOnline(active: 0, processed: 0)
        d.taskStarted(id: "a")
        d.taskSucceeded(id: "a", resultJSON: Array("5".utf8), runtime: 0.1)
        #expect(r.messages.map(\.routingKey) == ["worker.online"])
        #expect(r.clockValue == 1)
        d.enabled = true
        d.taskStarted(id: "a", pid: 123)
        d.taskSucceeded(id: "a", resultJSON: Array("5".utf8), runtime: 0.1)
        d.workerHeartbeat(active: 1, processed: 1)
        d.workerOffline(active: 0, processed: 1)
        #expect(r.messages.map(\.routingKey) == ["worker.online", "task.started", "task.succeeded",
                                                 "worker.heartbeat", "worker.offline"])
        #expect(r.messages.map { $0.json["clock"] } == [1, 2, 3, 4, 5].map { JSON.int($0) })
        #expect(r.messages.allSatisfy { $0.exchange == "celeryev" })
        #expect(r.messages.allSatisfy { $0.properties == Event.properties(hostname: "w1@capture") })
        #expect(r.messages.allSatisfy { $0.json["hostname"] == "w1@capture" && $0.json["pid"] == .int(10977) })
        #expect(r.messages[1].json["pid"] == .int(10977))  // the started event keeps the worker's pid
        #expect(r.messages[2].json["result"] == "5")
        #expect(r.messages[3].json["active"] == .int(1) && r.messages[3].json["freq"] == .double(2.0))
        #expect(r.messages[3].json["loadavg"]?.arrayValue?.count == 3)
    }

    @Test("each dispatcher method sends the type its name says")
    func methodTypes() throws {
        let r = Recorder()
        let d = r.dispatcher()
        let m = try EventVectors.taskMessage("task-v2-custom-header-and-shadow")
        d.taskReceived(m)
        d.taskStarted(id: m.id)
        d.taskSucceeded(id: m.id, result: .int(10), runtime: 0.5)
        d.taskSucceeded(id: m.id, resultRepr: "10", runtime: 0.5)
        d.taskFailed(id: m.id, exception: "ValueError('x')", traceback: "tb")
        d.taskRetried(id: m.id, exception: "RuntimeError('y')", traceback: "tb")
        d.taskRetried(id: m.id, error: .valueError("z"))
        d.taskRevoked(id: m.id, terminated: true, signum: 15, expired: false)
        d.taskRejected(id: m.id, requeue: true)
        d.taskCancelled(id: m.id)
        #expect(r.messages.map(\.routingKey) == ["task.received", "task.started", "task.succeeded", "task.succeeded",
                                                 "task.failed", "task.retried", "task.retried", "task.revoked",
                                                 "task.rejected", "task.cancelled"])
        #expect(r.messages.allSatisfy { $0.json["uuid"] == .string(m.id) })
        #expect(r.messages[0].json["name"] == "add-shadowed")
        #expect(r.messages[7].json["signum"] == .int(15) && r.messages[7].json["terminated"] == true)
        #expect(r.messages[8].json["requeue"] == true)
        #expect(r.messages[6].json["exception"] == "ValueError('z')" && r.messages[6].json["traceback"] == "")
    }

    @Test("batch mode: flush ships a task.multi array; a batch of one goes alone")
    func batching() throws {
        let r = Recorder()
        let d = r.dispatcher(batch: true)
        d.taskStarted(id: "a")
        d.taskSucceeded(id: "a", resultRepr: "1", runtime: 0.1)
        d.taskStarted(id: "b")
        #expect(r.messages.isEmpty && d.pendingCount == 3)
        d.flush()
        #expect(d.pendingCount == 0)
        #expect(r.messages.count == 1)
        #expect(r.messages[0].routingKey == "task.multi")
        let array = try #require(r.messages[0].json.arrayValue)
        #expect(array.map { $0["type"] } == ["task-started", "task-succeeded", "task-started"])
        #expect(array.map { $0["clock"] } == [1, 2, 3].map { JSON.int($0) })
        // Same shape as the captured batch: a list of complete event objects.
        let captured = try EventVectors.load("event-task-multi-batch")
        #expect(captured["routing_key"] == "task.multi" && captured["body"]?.arrayValue != nil)

        d.flush()
        #expect(r.messages.count == 1)
        d.taskRejected(id: "c", requeue: false)
        d.flush()
        #expect(r.messages.last?.routingKey == "task.rejected")

        // Worker events flush first, so order is kept.
        d.taskStarted(id: "d")
        d.workerHeartbeat(active: 1, processed: 2)
        #expect(r.messages.suffix(2).map(\.routingKey) == ["task.started", "worker.heartbeat"])

        // The limit flushes without waiting; disabling flushes what is left.
        let r2 = Recorder()
        let d2 = r2.dispatcher(batch: true, limit: 2)
        d2.taskStarted(id: "a")
        d2.taskStarted(id: "b")
        d2.taskStarted(id: "c")
        #expect(r2.messages.count == 1 && d2.pendingCount == 1)
        d2.enabled = false
        #expect(r2.messages.count == 2 && d2.pendingCount == 0)
    }
}

private func kind(_ value: JSON) -> String {
    switch value {
    case .int, .uint, .bigint: return "int"
    default: return value.pythonTypeName
    }
}
