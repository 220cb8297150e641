import Foundation
import PlugworkerBroker
import PlugworkerCore
import Testing
@testable import PlugworkerWorker

// MARK: - Support

/// The pidbox captures copied from `/work/shared/wire-vectors` (data read
/// from the source tree, not bundle resources).
private enum PidboxVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Vectors")

    static var names: [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return all.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func load(_ name: String) throws -> JSON {
        let data = try Data(contentsOf: directory.appendingPathComponent(name + ".json"))
        return try JSON.parse([UInt8](data))
    }

    static func messages(_ name: String) throws -> [JSON] {
        let v = try load(name)
        return v["messages"]?.arrayValue ?? [v]
    }

    /// The recorded request (the first message).
    static func requestMessage(_ name: String) throws -> JSON { try messages(name)[0] }

    /// The recorded reply message, if the capture has one.
    static func replyMessage(_ name: String) throws -> JSON? {
        try messages(name).first { $0["role"]?.stringValue == "reply" }
    }

    /// The request as the worker's mailbox would deliver it.
    static func delivery(_ name: String) throws -> Delivery {
        let m = try requestMessage(name)
        let p = m["properties"] ?? .null
        let properties = MessageProperties(contentType: p["content_type"]?.stringValue,
                                           contentEncoding: p["content_encoding"]?.stringValue,
                                           headers: p["headers"]?.objectValue,
                                           deliveryMode: p["delivery_mode"]?.int64Value.map { UInt8($0) },
                                           priority: p["priority"]?.int64Value.map { UInt8($0) })
        return Delivery(consumerTag: "ctag", deliveryTag: 1, redelivered: false,
                        exchange: m["exchange"]?.stringValue ?? "", routingKey: m["routing_key"]?.stringValue ?? "",
                        properties: properties, body: (m["body"] ?? .null).serializedBytes)
    }

    static func request(_ name: String) throws -> PidboxRequest {
        try PidboxRequest(delivery: try delivery(name))
    }

    /// The recorded reply's node and payload.
    static func replyPayload(_ name: String) throws -> (node: String, payload: JSON)? {
        guard let body = try replyMessage(name)?["body"]?.objectValue, let m = body.members.first else { return nil }
        return (m.key, m.value)
    }
}

/// Objects with their keys sorted, recursively: the captures were written
/// with sorted keys, the worker writes Python's insertion order.
private func sorted(_ value: JSON) -> JSON {
    switch value {
    case .object(let o):
        return .object(JSONObject(o.members.sorted { $0.key < $1.key }.map { .init($0.key, sorted($0.value)) }))
    case .array(let items):
        return .array(items.map(sorted))
    default:
        return value
    }
}

private func sameJSON(_ a: JSON?, _ b: JSON?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    return sorted(a) == sorted(b)
}

/// A request-info object read back from a capture.
private func requestInfo(_ j: JSON) -> RequestInfo {
    RequestInfo(id: j["id"]?.stringValue ?? "", name: j["name"]?.stringValue ?? "", type: j["type"]?.stringValue,
                args: j["args"]?.arrayValue ?? [], kwargs: j["kwargs"]?.objectValue ?? JSONObject(),
                hostname: j["hostname"]?.stringValue ?? "", timeStart: j["time_start"]?.doubleValue,
                acknowledged: j["acknowledged"] == .bool(true),
                exchange: j["delivery_info"]?["exchange"]?.stringValue ?? "",
                routingKey: j["delivery_info"]?["routing_key"]?.stringValue ?? "",
                priority: j["delivery_info"]?["priority"]?.int64Value.map { Int($0) },
                redelivered: j["delivery_info"]?["redelivered"] == .bool(true),
                workerPID: j["worker_pid"]?.int64Value.map { Int($0) })
}

/// A worker stand-in that records what it was asked to do.
private final class FakeTarget: ControlTarget {
    var nodeName: String
    var clock = 0
    var tasks: [(name: String, options: [(String, String)])] = []
    var activeRequests: [RequestInfo] = []
    var reservedRequests: [RequestInfo] = []
    var scheduledRequests: [(eta: String, priority: Int, request: RequestInfo)] = []
    var revokedIDs: [String] = []
    var queues = [QueueDescription(name: "celery")]
    var settings = JSONObject()
    var statsValue: WorkerStats
    var eventsOn = false
    var autoscaling: (max: Int, min: Int)?
    /// Every action, as text.
    var actions: [String] = []

    init(_ nodeName: String = "w1@capture") {
        self.nodeName = nodeName
        statsValue = WorkerStats(pid: 1, uptime: 0, maxConcurrency: 1, processes: [2], broker: BrokerURL(),
                                 brokerHeartbeat: 120, prefetchCount: 4, rusage: nil)
    }

    func adjustClock(_ received: Int) { clock = max(clock, received) + 1 }
    func forwardClock() -> Int {
        clock += 1
        return clock
    }

    func registeredTasks() -> [(name: String, options: [(String, String)])] { tasks }
    func active() -> [RequestInfo] { activeRequests }
    func reserved() -> [RequestInfo] { reservedRequests }
    func scheduled() -> [(eta: String, priority: Int, request: RequestInfo)] { scheduledRequests }
    func revoked() -> [String] { revokedIDs }
    func stats() -> WorkerStats { statsValue }
    func activeQueues() -> [QueueDescription] { queues }
    func conf(withDefaults: Bool) -> JSONObject { settings }
    func plugins() -> [(name: String, version: String?, path: String)] {
        [("arith", "1.0.0", "/opt/plugins/libarith.so"), ("text", nil, "/opt/plugins/libtext.so")]
    }

    func rateLimit(task: String, rate: RateLimit?) throws(ControlError) {
        guard tasks.contains(where: { $0.name == task }) else { throw .unknownTask }
        actions.append("rate_limit \(task) \(rate?.text ?? "none")")
    }

    func timeLimit(task: String, soft: Double?, hard: Double?) throws(ControlError) {
        guard tasks.contains(where: { $0.name == task }) else { throw .unknownTask }
        actions.append("time_limit \(task) \(soft.map { "\($0)" } ?? "-") \(hard.map { "\($0)" } ?? "-")")
    }

    func revoke(ids: [String], terminate: Bool, signal: Int32) -> [String] {
        revokedIDs += ids.filter { !revokedIDs.contains($0) }
        actions.append("revoke \(ids.joined(separator: ",")) terminate=\(terminate) signal=\(signal)")
        guard terminate else { return [] }
        return ids.filter { id in activeRequests.contains { $0.id == id } }
    }

    func poolGrow(_ n: Int) throws(ControlError) {
        if autoscaling != nil { throw .growWithAutoscale }
        actions.append("grow \(n)")
    }

    func poolShrink(_ n: Int) throws(ControlError) {
        if autoscaling != nil { throw .shrinkWithAutoscale }
        actions.append("shrink \(n)")
    }

    func addConsumer(queue: String, exchange: String?, exchangeType: String, routingKey: String?,
                     options: JSONObject) {
        actions.append("add_consumer \(queue) \(exchange ?? "-") \(exchangeType) \(routingKey ?? "-") \(JSON.object(options).serialized)")
    }

    func cancelConsumer(queue: String) { actions.append("cancel_consumer \(queue)") }

    func enableEvents() -> Bool {
        defer { eventsOn = true }
        return eventsOn
    }

    func disableEvents() -> Bool {
        defer { eventsOn = false }
        return !eventsOn
    }

    func sendHeartbeat() { actions.append("heartbeat") }
    func shutdown(message: String) { actions.append("shutdown \(message)") }

    func hello(fromNode: String, revoked: [String]) -> (revoked: [String], clock: Int) {
        actions.append("hello \(fromNode) \(revoked)")
        let mine = revokedIDs
        revokedIDs += revoked.filter { !revokedIDs.contains($0) }
        return (mine, forwardClock())
    }
}

/// Runs a captured request against `target` and returns the reply.
private func replay(_ name: String, _ target: FakeTarget) throws -> PidboxReply? {
    ControlDispatcher.reply(to: try PidboxVectors.request(name), target: target)
}

/// Replays a capture and expects the recorded payload.
private func expectRecordedPayload(_ name: String, _ target: FakeTarget,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
    let recorded = try #require(try PidboxVectors.replyPayload(name), sourceLocation: sourceLocation)
    #expect(recorded.node == target.nodeName, "fake node name", sourceLocation: sourceLocation)
    let reply = try #require(try replay(name, target), "\(name): no reply", sourceLocation: sourceLocation)
    #expect(sameJSON(reply.payload, recorded.payload),
            "\(name): \(reply.payload.serialized) != \(recorded.payload.serialized)", sourceLocation: sourceLocation)
}

private func call(_ method: String, _ arguments: JSONObject = JSONObject(), clock: Int? = nil,
                  destination: [String]? = nil) -> PidboxRequest {
    PidboxRequest(method: method, arguments: arguments, destination: destination,
                  replyTo: .init(exchange: "reply.celery.pidbox", routingKey: "oid"), ticket: "t-1", clock: clock)
}

private let vectorTasks: [(name: String, options: [(String, String)])] = [
    ("tasks.add", [("acks_late", "False")]), ("tasks.always_retry", [("acks_late", "False")]),
    ("tasks.die", [("acks_late", "True")]), ("tasks.fail", [("acks_late", "False")]),
    ("tasks.fail_custom", [("acks_late", "False")]), ("tasks.flaky", [("acks_late", "False")]),
    ("tasks.mul", [("acks_late", "False")]), ("tasks.on_error", [("acks_late", "False")]),
    ("tasks.quiet", [("acks_late", "False")]), ("tasks.reject_me", [("acks_late", "True")]),
    ("tasks.slow", [("acks_late", "False")]), ("celery.chord_unlock", [("acks_late", "False")]),
]

// MARK: - Requests

@Suite("Control: requests")
struct ControlRequestTests {
    @Test("every captured request decodes, fields as recorded")
    func decodeVectors() throws {
        let names = PidboxVectors.names
        #expect(names.count >= 30)
        for name in names {
            let m = try PidboxVectors.requestMessage(name)
            let body = try #require(m["body"]?.objectValue)
            let r = try PidboxVectors.request(name)
            #expect(r.method == body["method"]?.stringValue, "\(name)")
            #expect(r.arguments == body["arguments"]?.objectValue, "\(name)")
            #expect(r.destination == body["destination"]?.arrayValue?.compactMap(\.stringValue), "\(name)")
            #expect(r.pattern == body["pattern"]?.stringValue && r.matcher == body["matcher"]?.stringValue, "\(name)")
            #expect(r.ticket == body["ticket"]?.stringValue, "\(name)")
            #expect(r.replyTo?.exchange == body["reply_to"]?["exchange"]?.stringValue, "\(name)")
            #expect(r.replyTo?.routingKey == body["reply_to"]?["routing_key"]?.stringValue, "\(name)")
            #expect(r.isCall == (body["reply_to"] != nil), "\(name)")
            let headers = m["properties"]?["headers"]
            #expect(r.clock == headers?["clock"]?.int64Value.map { Int($0) }, "\(name)")
            #expect(r.expires == headers?["expires"]?.doubleValue, "\(name)")
        }
    }

    @Test("casts carry no reply_to or ticket")
    func casts() throws {
        for name in ["pidbox-enable_events-cast", "pidbox-heartbeat-cast", "pidbox-revoke-cast"] {
            let r = try PidboxVectors.request(name)
            #expect(!r.isCall && r.ticket == nil, "\(name)")
        }
        let revoke = try PidboxVectors.request("pidbox-revoke-cast")
        #expect(revoke.arguments["task_id"] == "9dbdfffb-75e8-4896-a7f6-ada8339d28a5")
    }

    @Test("encoding writes kombu's body and properties")
    func encode() throws {
        let recorded = try PidboxVectors.requestMessage("pidbox-ping")
        var r = try PidboxVectors.request("pidbox-ping")
        #expect(sameJSON(r.body, recorded["body"]))
        #expect(r.properties.deliveryMode == 2 && r.properties.priority == 0)
        #expect(r.properties.contentType == "application/json")
        #expect(r.properties.headers?["clock"] == 1)
        #expect(r.properties.headers?["expires"] == recorded["properties"]?["headers"]?["expires"])
        r.replyTo = nil
        #expect(r.body["reply_to"] == nil && r.body["ticket"] == nil)
        let back = try PidboxRequest(body: r.body.serializedBytes, headers: r.properties.headers)
        r.ticket = nil // a request without reply_to carries no ticket
        #expect(back == r)
    }

    @Test("malformed requests are refused with a reason, never a crash",
          arguments: [
              ("not json", "not JSON"),
              ("[1, 2]", "not an object"),
              ("{}", "\"method\" is missing"),
              ("{\"method\": 5}", "\"method\" is a int"),
              ("{\"method\": \"\"}", "non-empty"),
              ("{\"method\": \"ping\", \"arguments\": [1]}", "\"arguments\" is a list"),
              ("{\"method\": \"ping\", \"destination\": 3}", "\"destination\" is a int"),
              ("{\"method\": \"ping\", \"destination\": [\"a\", 1]}", "only node names"),
              ("{\"method\": \"ping\", \"pattern\": {}}", "\"pattern\" is a dict"),
              ("{\"method\": \"ping\", \"reply_to\": \"q\"}", "\"reply_to\" is a str"),
              ("{\"method\": \"ping\", \"reply_to\": {\"exchange\": \"x\"}}", "lacks"),
              ("{\"method\": \"ping\", \"ticket\": 7}", "\"ticket\" is a int"),
          ])
    func refused(body: String, reason: String) {
        do {
            _ = try PidboxRequest(body: Array(body.utf8), headers: nil)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
            #expect(error.description.hasPrefix("refused control request: "))
        }
    }

    @Test("a non-JSON content type is refused; odd headers are ignored")
    func contentTypeAndHeaders() throws {
        #expect(throws: PidboxRefusal.self) {
            try PidboxRequest(body: Array("{\"method\": \"ping\"}".utf8), headers: nil,
                              contentType: "application/x-python-serialize")
        }
        let r = try PidboxRequest(body: Array("{\"method\": \"ping\"}".utf8),
                                  headers: JSONObject(["clock": "12", "expires": [1]]),
                                  contentType: "application/json; charset=utf-8")
        #expect(r.clock == 12 && r.expires == nil && r.arguments.count == 0 && r.destination == nil)
        let huge = try PidboxRequest(json: ["method": "ping"], headers: JSONObject(["clock": 1e300]))
        #expect(huge.clock == nil)
    }

    @Test("mangled captures never crash the decoder")
    func mangled() throws {
        let bytes = (try PidboxVectors.delivery("pidbox-query_task")).body
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var b = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if let r = try? PidboxRequest(body: Array(b.prefix(Int.random(in: 0...b.count, using: &rng))), headers: nil) {
                _ = ControlDispatcher.reply(to: r, target: FakeTarget())
            }
        }
    }

    @Test("expiry is known but not enforced")
    func expiry() throws {
        let r = try PidboxVectors.request("pidbox-ping")
        #expect(r.isExpired(now: 1795258967.1) && !r.isExpired(now: 1795258967.0))
        #expect(!PidboxRequest(method: "ping", expires: 0).isExpired(now: 1e12))
        #expect(ControlDispatcher.reply(to: r, target: FakeTarget()) != nil)
    }
}

// MARK: - Matching

@Suite("Control: which nodes act")
struct ControlMatchingTests {
    @Test("destination lists the nodes that act")
    func destination() throws {
        let r = try PidboxVectors.request("pidbox-ping-destination")
        #expect(r.matches(node: "w4@capture") && !r.matches(node: "w1@capture"))
        #expect(PidboxRequest(method: "ping", destination: []).matches(node: "any@host"))
        // A destination wins over a pattern.
        #expect(!PidboxRequest(method: "ping", destination: ["a@h"], pattern: "*", matcher: "glob").matches(node: "b@h"))
    }

    @Test("glob pattern, hit and miss, as captured")
    func globVectors() throws {
        let hit = try PidboxVectors.request("pidbox-ping-glob-pattern")
        #expect(hit.matches(node: "w4@capture") && !hit.matches(node: "w1@capture"))
        let miss = try PidboxVectors.request("pidbox-ping-glob-pattern-nomatch")
        #expect(!miss.matches(node: "w1@capture") && !miss.matches(node: "w4@capture"))
        #expect(PidboxRequest(method: "ping", pattern: "x*", matcher: nil).matches(node: "w1@h"), "no matcher: all")
    }

    @Test("fnmatch semantics",
          arguments: [
              ("w1@capture", "w1@capture", true), ("w1@capture", "w?@*", true), ("w1@capture", "*@capture", true),
              ("w1@capture", "*", true), ("w1@capture", "w1", false), ("w1@capture", "*capture*", true),
              ("w1@capture", "w[0-9]@*", true), ("w1@capture", "w[!1]@*", false), ("w2@capture", "w[!1]@*", true),
              ("w1@capture", "w[13]@capture", true), ("w2@capture", "w[13]@capture", false),
              ("a]@h", "a[]]@h", true), ("a[@h", "a[@h", true), ("w1@capture", "W1@capture", false),
              ("w1@capture", "**@*e", true), ("", "*", true), ("", "?", false), ("ab", "a*b*", true),
              ("w-1@h", "w[a-]1@h", true),
          ])
    func glob(name: String, pattern: String, expected: Bool) {
        #expect(NodeMatcher.glob(name, pattern: pattern) == expected)
        #expect(PidboxRequest(method: "ping", pattern: pattern, matcher: "glob").matches(node: name) == expected
            || pattern.isEmpty)
    }

    @Test("pcre: a regex matched at the start of the name")
    func pcre() {
        func m(_ pattern: String, _ node: String) -> Bool {
            PidboxRequest(method: "ping", pattern: pattern, matcher: "pcre").matches(node: node)
        }
        #expect(m("w[14]@", "w1@capture") && m("w[14]@", "w4@capture") && !m("w[14]@", "w2@capture"))
        #expect(!m("capture", "w1@capture"), "anchored at the start")
        #expect(m(".*capture$", "w1@capture") && m("w\\d+@", "w12@h") && m("(w1|w2)@", "w2@h"))
        #expect(!m("(", "w1@capture"), "a broken regex matches nothing")
        #expect(!PidboxRequest(method: "ping", pattern: "w1", matcher: "regex").matches(node: "w1@capture"),
                "unknown matcher")
    }
}

// MARK: - Replies and the clock

@Suite("Control: replies and the clock")
struct ControlReplyTests {
    @Test("the reply message is addressed and shaped as captured")
    func replyShape() throws {
        let target = FakeTarget()
        target.clock = 1
        let reply = try #require(try replay("pidbox-ping", target))
        let recorded = try #require(try PidboxVectors.replyMessage("pidbox-ping"))
        #expect(reply.exchange == recorded["exchange"]?.stringValue)
        #expect(reply.routingKey == recorded["routing_key"]?.stringValue)
        #expect(reply.properties.contentType == "application/json")
        #expect(reply.properties.contentEncoding == "utf-8")
        #expect(reply.properties.deliveryMode == 1 && reply.properties.priority == 0)
        #expect(sameJSON(.object(reply.properties.headers ?? JSONObject()), recorded["properties"]?["headers"]))
        #expect(try JSON.parse(reply.body) == recorded["body"])
        #expect(PidboxReply(request: PidboxRequest(method: "ping"), node: "n", payload: .null, clock: 1) == nil)
    }

    @Test("the clock moves past every request's and forward for every reply")
    func clock() throws {
        let target = FakeTarget()
        target.clock = 5
        let reply = try #require(ControlDispatcher.reply(to: call("clock", clock: 100), target: target))
        #expect(reply.payload == ["clock": 101])
        #expect(reply.properties.headers?["clock"] == 102)
        #expect(target.clock == 102)
        // Smaller or missing clocks still move it by one.
        _ = ControlDispatcher.handle(call("ping", clock: 3), target: target)
        #expect(target.clock == 103)
        _ = ControlDispatcher.handle(call("ping"), target: target)
        #expect(target.clock == 104)
        // Requests for other nodes too, with no reply.
        #expect(ControlDispatcher.reply(to: call("ping", clock: 500, destination: ["other@h"]), target: target) == nil)
        #expect(target.clock == 501)
    }

    @Test("clock answers the clock as captured")
    func clockVector() throws {
        let target = FakeTarget()
        target.clock = 58
        try expectRecordedPayload("pidbox-clock", target)
        #expect(target.clock == 60)
    }

    @Test("nodes not selected stay silent, casts act without replying")
    func silence() throws {
        let target = FakeTarget()
        #expect(try replay("pidbox-ping-glob-pattern-nomatch", target) == nil)
        #expect(try replay("pidbox-ping-destination", target) == nil)
        #expect(try replay("pidbox-heartbeat-cast", target) == nil)
        #expect(try replay("pidbox-enable_events-cast", target) == nil)
        #expect(try replay("pidbox-revoke-cast", target) == nil)
        #expect(target.eventsOn)
        #expect(target.actions == ["heartbeat", "revoke 9dbdfffb-75e8-4896-a7f6-ada8339d28a5 terminate=false signal=0"])
        #expect(target.revokedIDs == ["9dbdfffb-75e8-4896-a7f6-ada8339d28a5"])
        let w4 = FakeTarget("w4@capture")
        try expectRecordedPayload("pidbox-ping-destination", w4)
        try expectRecordedPayload("pidbox-ping-glob-pattern", w4)
    }
}

// MARK: - Commands

@Suite("Control: commands")
struct ControlCommandTests {
    @Test("payloads as captured: ping, acting commands and their texts",
          arguments: ["pidbox-ping", "pidbox-rate_limit", "pidbox-rate_limit-error", "pidbox-time_limit",
                      "pidbox-pool_grow", "pidbox-pool_shrink", "pidbox-autoscale", "pidbox-add_consumer",
                      "pidbox-cancel_consumer", "pidbox-revoke", "pidbox-terminate", "pidbox-heartbeat",
                      "pidbox-revoked", "pidbox-active-safe"])
    func simplePayloads(name: String) throws {
        let target = FakeTarget(try PidboxVectors.replyPayload(name)?.node ?? "w1@capture")
        target.tasks = vectorTasks
        try expectRecordedPayload(name, target)
    }

    @Test("the actions reach the target with their arguments")
    func actions() throws {
        let target = FakeTarget()
        target.tasks = vectorTasks
        for name in ["pidbox-rate_limit", "pidbox-time_limit", "pidbox-pool_grow", "pidbox-pool_shrink",
                     "pidbox-add_consumer", "pidbox-cancel_consumer", "pidbox-revoke", "pidbox-terminate",
                     "pidbox-heartbeat"] {
            _ = try replay(name, target)
        }
        #expect(target.actions == [
            "rate_limit tasks.add 10/m", "time_limit tasks.slow 30.0 60.0", "grow 1", "shrink 1",
            "add_consumer extraq - direct - {}", "cancel_consumer extraq",
            "revoke 11111111-2222-3333-4444-555555555555 terminate=false signal=0",
            "revoke 11111111-2222-3333-4444-555555555555 terminate=true signal=9", "heartbeat",
        ])
    }

    @Test("events: enabled, already enabled, disabled, already disabled")
    func events() throws {
        let target = FakeTarget()
        target.eventsOn = true
        try expectRecordedPayload("pidbox-enable_events", target)
        try expectRecordedPayload("pidbox-disable_events", FakeTarget())
        target.eventsOn = false
        #expect(ControlDispatcher.handle(call("enable_events"), target: target) == ["ok": "task events enabled"])
        #expect(ControlDispatcher.handle(call("disable_events"), target: target) == ["ok": "task events disabled"])
    }

    @Test("registered: sorted, built-ins hidden, taskinfoitems as captured")
    func registered() throws {
        let target = FakeTarget()
        target.tasks = vectorTasks
        try expectRecordedPayload("pidbox-registered", target)
        let w4 = FakeTarget("w4@capture")
        w4.tasks = vectorTasks
        try expectRecordedPayload("pidbox-registered-taskinfoitems", w4)

        target.tasks = [("tasks.add", [("rate_limit", "10/m"), ("acks_late", "False"), ("queue", "q")]),
                        ("celery.backend_cleanup", [])]
        let both = ControlDispatcher.handle(call("registered", ["taskinfoitems": ["rate_limit", "acks_late"]]),
                                            target: target)
        #expect(both == ["tasks.add [rate_limit=10/m acks_late=False]"])
        // No items: Python's defaults (exchange, routing_key, rate_limit).
        #expect(ControlDispatcher.handle(call("dump_tasks"), target: target) == ["tasks.add [rate_limit=10/m]"])
        let builtins = ControlDispatcher.handle(call("registered", ["taskinfoitems": ["queue"], "builtins": true]),
                                                target: target)
        #expect(builtins == ["celery.backend_cleanup", "tasks.add [queue=q]"])
    }

    @Test("active, reserved, scheduled and query_task show request info as captured")
    func requestInfos() throws {
        for name in ["pidbox-active", "pidbox-reserved", "pidbox-scheduled", "pidbox-query_task"] {
            let recorded = try #require(try PidboxVectors.replyPayload(name))
            let target = FakeTarget(recorded.node)
            switch name {
            case "pidbox-active": target.activeRequests = (recorded.payload.arrayValue ?? []).map(requestInfo)
            case "pidbox-reserved": target.reservedRequests = (recorded.payload.arrayValue ?? []).map(requestInfo)
            case "pidbox-scheduled":
                target.scheduledRequests = (recorded.payload.arrayValue ?? []).map {
                    ($0["eta"]?.stringValue ?? "", Int($0["priority"]?.int64Value ?? 0), requestInfo($0["request"] ?? .null))
                }
            default:
                for m in recorded.payload.objectValue?.members ?? [] {
                    let state = m.value.arrayValue?[0].stringValue
                    let info = requestInfo(m.value.arrayValue?[1] ?? .null)
                    if state == "active" { target.activeRequests.append(info) } else { target.reservedRequests.append(info) }
                }
                target.scheduledRequests = [("2031-01-02T03:04:05+00:00", 0,
                                             RequestInfo(id: "sched", name: "tasks.add", hostname: recorded.node))]
            }
            try expectRecordedPayload(name, target)
        }
    }

    @Test("query_task: scheduled state, single id string, unknown ids left out")
    func queryTask() {
        let target = FakeTarget()
        target.scheduledRequests = [("2031-01-02T03:04:05+00:00", 6, RequestInfo(id: "s", name: "t", hostname: "w1@capture"))]
        target.activeRequests = [RequestInfo(id: "a", name: "t", hostname: "w1@capture")]
        let one = ControlDispatcher.handle(call("query_task", ["ids": "s"]), target: target)
        #expect(one?["s"]?.arrayValue?.first == "scheduled")
        let many = ControlDispatcher.handle(call("query_task", ["ids": ["nope", "a", "s", "a"]]), target: target)
        #expect(many?.objectValue?.members.map(\.key) == ["a", "s"])
        #expect(ControlDispatcher.handle(call("query_task", ["ids": []]), target: target) == .object(JSONObject()))
    }

    @Test("request info: safe mode sends the reprs")
    func safeInfo() {
        var info = RequestInfo(id: "i", name: "shadowed", type: "tasks.add", args: [1, "a"], kwargs: ["k": true],
                               hostname: "w1@h", timeStart: 1.5, acknowledged: true, workerPID: 42)
        let safe = info.json(safe: true)
        #expect(safe["args"] == "(1, 'a')" && safe["kwargs"] == "{'k': True}")
        #expect(safe["name"] == "shadowed" && safe["type"] == "tasks.add" && safe["worker_pid"] == 42)
        info.argsrepr = "(1, '...')"
        #expect(info.json(safe: true)["args"] == "(1, '...')")
        #expect(info.json()["args"] == [1, "a"])
        #expect(info.json().objectValue?.members.map(\.key) == ["id", "name", "args", "kwargs", "type", "hostname",
                                                                 "time_start", "acknowledged", "delivery_info",
                                                                 "worker_pid"])
        let target = FakeTarget()
        target.activeRequests = [info]
        let active = ControlDispatcher.handle(call("active", ["safe": true]), target: target)
        #expect(ControlDispatcher.handle(call("dump_active", ["safe": true]), target: target) == active)
        #expect(active?[0]?["args"] == "(1, '...')")
        #expect(active?.arrayValue?.first?["kwargs"] == "{'k': True}")
    }

    @Test("stats: the captured shape from the target's raw values")
    func stats() throws {
        let recorded = try #require(try PidboxVectors.replyPayload("pidbox-stats"))
        let r = try #require(recorded.payload["rusage"]?.objectValue)
        func n(_ k: String) -> Int { Int(r[k]?.int64Value ?? -1) }
        let target = FakeTarget()
        target.clock = 21
        target.statsValue = WorkerStats(
            totals: [("tasks.slow", 2)], pid: 15020, uptime: 11.4,
            poolImplementation: "celery.concurrency.prefork:TaskPool", maxConcurrency: 2, processes: [15025, 15026],
            broker: try BrokerURL(parsing: "amqp://guest:secret@127.0.0.1:5672/celcap"), brokerHeartbeat: 120,
            prefetchCount: 9,
            rusage: ResourceUsage(utime: r["utime"]?.doubleValue ?? 0, stime: r["stime"]?.doubleValue ?? 0,
                                  maxrss: n("maxrss"), ixrss: n("ixrss"), idrss: n("idrss"), isrss: n("isrss"),
                                  minflt: n("minflt"), majflt: n("majflt"), nswap: n("nswap"), inblock: n("inblock"),
                                  oublock: n("oublock"), msgsnd: n("msgsnd"), msgrcv: n("msgrcv"),
                                  nsignals: n("nsignals"), nvcsw: n("nvcsw"), nivcsw: n("nivcsw")))
        let reply = try #require(try replay("pidbox-stats", target))
        // pool.writes is Python's pool internals; we send {}.
        func withoutWrites(_ j: JSON) -> JSON {
            var o = j.objectValue ?? JSONObject()
            var pool = o["pool"]?.objectValue ?? JSONObject()
            pool["writes"] = nil
            o["pool"] = .object(pool)
            return .object(o)
        }
        #expect(sameJSON(withoutWrites(reply.payload), withoutWrites(recorded.payload)),
                "\(reply.payload.serialized)")
        #expect(reply.payload["pool"]?["writes"] == .object(JSONObject()))
        #expect(!reply.payload.serialized.contains("secret"))

        target.statsValue.rusage = nil
        target.statsValue.maxTasksPerChild = 100
        target.statsValue.autoscaler = (max: 4, min: 1, current: 3, qty: 2)
        target.statsValue.softTimeLimit = 1.5
        let other = try #require(ControlDispatcher.handle(call("stats"), target: target))
        #expect(other["rusage"] == "N/A")
        #expect(other["pool"]?["max-tasks-per-child"] == 100 && other["pool"]?["timeouts"] == [1.5, 0])
        #expect(other["autoscaler"] == ["max": 4, "min": 1, "current": 3, "qty": 2])
        #expect(other["pool"]?["implementation"] != nil)
        let live = try #require(ResourceUsage.current())
        #expect(live.maxrss > 0 && live.json.objectValue?.count == 16)
    }

    @Test("active_queues: kombu's description of the default queue as captured")
    func activeQueues() throws {
        try expectRecordedPayload("pidbox-active_queues", FakeTarget())
        let target = FakeTarget()
        target.queues = [QueueDescription(name: "hi", exchange: "ex", exchangeType: "topic", routingKey: "hi.#",
                                          queueArguments: JSONObject(["x-max-priority": 10]), maxPriority: 10)]
        let q = try #require(ControlDispatcher.handle(call("active_queues"), target: target)?[0])
        #expect(q["exchange"]?["name"] == "ex" && q["exchange"]?["type"] == "topic" && q["routing_key"] == "hi.#")
        #expect(q["queue_arguments"] == ["x-max-priority": 10] && q["max_priority"] == 10)
    }

    @Test("conf: as captured, with the broker password masked")
    func conf() throws {
        let target = FakeTarget()
        target.settings = JSONObject([
            "broker_connection_retry_on_startup": true,
            "broker_url": "amqp://guest:guest@localhost:5672/celcap",
            "deprecated_settings": nil, "include": ["tasks", "celery.app.builtins"], "result_backend": "rpc://",
            "task_protocol": 2, "task_send_sent_event": false, "worker_disable_prefetch": false,
            "worker_send_task_events": true,
        ])
        try expectRecordedPayload("pidbox-conf", target)
    }

    @Test("conf and report hide passwords and secrets")
    func censoring() throws {
        let target = FakeTarget()
        target.settings = JSONObject([
            "broker_url": "amqp://user:s3cret@rabbit:5672/vh",
            "broker_password": "s3cret", "PASSWORD": "s3cret", "redis_backend_password": "s3cret",
            "result_backend": "redis://:s3cret@redis:6379/0",
            "broker_failover": "amqp://a:s3cret@h1//;amqp://b:s3cret@h2//",
            "database_url": "postgres://x:s3cret@db/x", "aws_secret_access_key": "s3cret", "api_token": "s3cret",
            "transport_options": ["sasl_password": "s3cret", "region": "eu"],
            "urls": ["amqp://u:s3cret@h//"], "__private": "s3cret", "worker_concurrency": 4,
        ])
        target.statsValue.broker = try BrokerURL(parsing: "amqp://user:s3cret@rabbit:5672/vh")
        let conf = try #require(ControlDispatcher.handle(call("dump_conf"), target: target))
        #expect(!conf.serialized.contains("s3cret"), "\(conf.serialized)")
        #expect(conf["broker_url"] == "amqp://user:********@rabbit:5672/vh")
        #expect(conf["broker_password"] == "********" && conf["PASSWORD"] == "********")
        #expect(conf["result_backend"] == "redis://:********@redis:6379/0")
        #expect(conf["broker_failover"] == "amqp://a:********@h1//;amqp://b:********@h2//")
        #expect(conf["transport_options"] == ["sasl_password": "********", "region": "eu"])
        #expect(conf["__private"] == nil && conf["worker_concurrency"] == 4)

        let report = try #require(ControlDispatcher.handle(call("report"), target: target)?["ok"]?.stringValue)
        #expect(!report.contains("s3cret"), "\(report)")
        #expect(report.hasPrefix("\nsoftware -> plugworker:"))
        #expect(report.contains("node     -> w1@capture pid:1"))
        #expect(report.contains("broker   -> amqp://user:********@rabbit:5672/vh"))
        #expect(report.contains("plugins  -> arith 1.0.0  /opt/plugins/libarith.so\n            text  /opt/plugins/libtext.so"))
        #expect(report.contains("\nbroker_url: 'amqp://user:********@rabbit:5672/vh'\n"))
        #expect(report.contains("\nworker_concurrency: 4\n"))
        #expect(SettingsCensor.maskURLs("not a url: x@y") == "not a url: x@y")
        #expect(SettingsCensor.maskURLs("amqp://guest@h//") == "amqp://guest@h//")
        #expect(SettingsCensor.masked(BrokerURL()) == "amqp://guest:********@localhost:5672//")
    }

    @Test("report: the captured reply's layout")
    func report() throws {
        let recorded = try #require(try PidboxVectors.replyPayload("pidbox-report"))
        let python = try #require(recorded.payload["ok"]?.stringValue)
        let reply = try #require(try replay("pidbox-report", FakeTarget()))
        let ours = try #require(reply.payload["ok"]?.stringValue)
        for prefix in ["\nsoftware -> ", "\nplatform -> system:", "\nsettings -> transport:amqp results:rpc://\n"] {
            #expect(python.contains(prefix) && ours.contains(prefix), "\(prefix)")
        }
    }

    @Test("revoke and terminate: texts and arguments")
    func revoke() throws {
        let target = FakeTarget()
        target.activeRequests = [RequestInfo(id: "run1", name: "t", hostname: "w1@capture"),
                                 RequestInfo(id: "run2", name: "t", hostname: "w1@capture")]
        #expect(ControlDispatcher.handle(call("revoke", ["task_id": "x"]), target: target)
            == ["ok": "tasks {'x'} flagged as revoked"])
        #expect(ControlDispatcher.handle(call("revoke", ["task_id": ["a", "b", "a"]]), target: target)
            == ["ok": "tasks {'a', 'b'} flagged as revoked"])
        #expect(ControlDispatcher.handle(call("revoke", ["task_id": []]), target: target)
            == ["ok": "tasks set() flagged as revoked"])
        #expect(ControlDispatcher.handle(call("revoke", ["task_id": ["run1", "zz", "run2"], "terminate": true,
                                                         "signal": "SIGKILL"]), target: target)
            == ["ok": "terminate: run1, run2"])
        #expect(ControlDispatcher.handle(call("terminate", ["task_id": ["zz"], "signal": "TERM"]), target: target)
            == ["ok": "terminate: tasks unknown"])
        #expect(target.actions.last == "revoke zz terminate=true signal=15")
        #expect(ControlDispatcher.handle(call("terminate", ["task_id": ["q"], "signal": "SIGFOO"]), target: target)
            == ["error": "AttributeError(\"module 'signal' has no attribute 'SIGFOO'\")"])
        #expect(target.revokedIDs.contains("q"), "revoked before the signal is read, as Python")
        #expect(ControlDispatcher.handle(call("terminate", ["task_id": ["q"], "signal": "kill"]), target: target)
            == ["error": "TypeError('signal name must be uppercase string.')"])
        #expect(ControlDispatcher.handle(call("revoke", ["task_id": 5]), target: target)?["error"] != nil)
        let kill = try SignalNumber.parse(.int(9)), usr1 = try SignalNumber.parse("USR1")
        #expect(kill == 9 && usr1 == 10)
    }

    @Test("rate_limit: bad strings, disabling, unknown tasks")
    func rateLimit() {
        let target = FakeTarget()
        target.tasks = vectorTasks
        func rate(_ value: JSON, task: String = "tasks.add") -> JSON? {
            ControlDispatcher.handle(call("rate_limit", ["task_name": .string(task), "rate_limit": value]),
                                     target: target)
        }
        #expect(rate("abc") == ["error": "Invalid rate limit string: ValueError(\"could not convert string to float: 'abc'\")"])
        #expect(rate("10/x") == ["error": "Invalid rate limit string: KeyError('x')"])
        #expect(rate("abc", task: "nope")?["error"]?.stringValue?.hasPrefix("Invalid rate limit string") == true,
                "the rate is checked first")
        #expect(rate("") == ["ok": "rate limit disabled successfully"])
        #expect(rate(.null) == ["ok": "rate limit disabled successfully"])
        #expect(rate("5/s") == ["ok": "new rate limit set successfully"])
        #expect(rate(5) == ["ok": "new rate limit set successfully"])
        #expect(rate("1/s", task: "nope") == ["error": "unknown task"])
        #expect(target.actions == ["rate_limit tasks.add none", "rate_limit tasks.add none", "rate_limit tasks.add 5/s",
                                   "rate_limit tasks.add 5"])
        #expect(ControlDispatcher.handle(call("time_limit", ["task_name": "nope", "soft": 1]), target: target)
            == ["error": "unknown task"])
        #expect(ControlDispatcher.handle(call("time_limit", ["task_name": "tasks.add", "soft": nil, "hard": "2"]),
                                         target: target) == ["ok": "time limits set successfully"])
        #expect(target.actions.last == "time_limit tasks.add - 2.0")
    }

    @Test("pool and autoscale, with and without autoscaling")
    func pool() {
        let target = FakeTarget()
        #expect(ControlDispatcher.handle(call("pool_grow", ["n": 3]), target: target) == ["ok": "pool will grow"])
        #expect(ControlDispatcher.handle(call("pool_shrink"), target: target) == ["ok": "pool will shrink"])
        #expect(target.actions == ["grow 3", "shrink 1"])
        #expect(ControlDispatcher.handle(call("pool_grow", ["n": "x"]), target: target)?["error"]?.stringValue
            == "TypeError(\"pool_grow() argument 'n' must be int, not str\")")
        #expect(ControlDispatcher.handle(call("autoscale", ["max": 4, "min": 1]), target: target)
            == ["error": "ValueError('Autoscale not enabled')"])
        target.autoscaling = (4, 1)
        #expect(ControlDispatcher.handle(call("pool_grow"), target: target)
            == ["error": "pool_grow is not supported with autoscale. Adjust autoscale range instead."])
        #expect(ControlDispatcher.handle(call("pool_restart"), target: target)
            == ["error": "ValueError('Pool restarts not enabled')"])
    }

    @Test("add_consumer passes the exchange, type, key and extra options; a queue is required")
    func consumers() {
        let target = FakeTarget()
        let reply = ControlDispatcher.handle(call("add_consumer", ["queue": "q", "exchange": "ex", "routing_key": "k",
                                                                   "exchange_durable": false]), target: target)
        #expect(reply == ["ok": "add consumer q"])
        #expect(target.actions == ["add_consumer q ex direct k {\"exchange_durable\": false}"])
        #expect(ControlDispatcher.handle(call("add_consumer"), target: target)
            == ["error": "TypeError(\"add_consumer() missing 1 required positional argument: 'queue'\")"])
        #expect(ControlDispatcher.handle(call("cancel_consumer", ["queue": 1]), target: target)?["error"] != nil)
    }

    @Test("hello: mingle as captured; null to yourself; old dict format")
    func hello() throws {
        let target = FakeTarget()
        target.revokedIDs = ["11111111-2222-3333-4444-555555555555"]
        target.clock = 121
        try expectRecordedPayload("mingle-hello", target)
        #expect(target.actions == ["hello w2@capture []"])
        #expect(ControlDispatcher.handle(call("hello", ["from_node": "w1@capture", "revoked": ["x"]]), target: target)
            == .null)
        let old = ControlDispatcher.handle(call("hello", ["from_node": "w9@h",
                                                          "revoked": ["abc": [1795259024.1, "abc"]]]), target: target)
        #expect(old?["revoked"] == ["11111111-2222-3333-4444-555555555555"])
        #expect(target.revokedIDs == ["11111111-2222-3333-4444-555555555555", "abc"])
    }

    @Test("shutdown acts and never replies")
    func shutdown() throws {
        let target = FakeTarget("w2@capture")
        #expect(try replay("pidbox-shutdown", target) == nil)
        #expect(target.actions == ["shutdown Got shutdown from remote"])
        _ = ControlDispatcher.handle(call("shutdown", ["msg": "bye"]), target: target)
        #expect(target.actions.last == "shutdown bye")
        #expect(try replay("pidbox-shutdown", FakeTarget("w1@capture")) == nil)
    }

    @Test("unknown methods and debugging aids answer errors")
    func errors() throws {
        try expectRecordedPayload("pidbox-unknown-method", FakeTarget("w4@capture"))
        for method in ["objgraph", "memsample", "memdump", "revoke_by_stamped_headers"] {
            #expect(ControlDispatcher.handle(call(method), target: FakeTarget())?["error"] != nil, "\(method)")
        }
        #expect(ControlDispatcher.handle(call("election", ["id": "1", "topic": "t"]), target: FakeTarget()) == .null)
        #expect(ControlDispatcher.handle(call("it's"), target: FakeTarget()) == ["error": "KeyError(\"it's\")"])
    }

    @Test("every listed command and alias answers something other than KeyError")
    func coverage() {
        let target = FakeTarget()
        for method in ControlDispatcher.commands + ControlDispatcher.aliases.keys where method != "shutdown" {
            let payload = ControlDispatcher.handle(call(method, ["from_node": "x@h", "queue": "q"]), target: target)
            #expect(payload?["error"]?.stringValue?.hasPrefix("KeyError") != true, "\(method)")
        }
    }
}

// MARK: - CLI pieces

@Suite("Control: CLI arguments and output")
struct ControlCLITests {
    private func compile(_ command: String, _ kind: ControlCommandSpec.Kind, _ words: [String]) throws -> JSONObject {
        try #require(ControlCommandSpec.named(command, kind: kind)).compile(words)
    }

    @Test("words become arguments as celery's CLI makes them")
    func arguments() throws {
        #expect(try compile("registered", .inspect, []) == JSONObject(["taskinfoitems": []]))
        #expect(try compile("dump_tasks", .inspect, ["rate_limit", "acks_late"])
            == JSONObject(["taskinfoitems": ["rate_limit", "acks_late"]]))
        #expect(try compile("query_task", .inspect, ["a", "b"]) == JSONObject(["ids": ["a", "b"]]))
        #expect(try compile("active", .inspect, ["true"]) == JSONObject(["safe": true]))
        #expect(try compile("rate_limit", .control, ["tasks.add", "10/m"])
            == JSONObject(["task_name": "tasks.add", "rate_limit": "10/m"]))
        #expect(try compile("time_limit", .control, ["tasks.slow", "30", "60"])
            == JSONObject(["task_name": "tasks.slow", "soft": 30.0, "hard": 60.0]))
        #expect(try compile("terminate", .control, ["SIGKILL", "id1", "id2"])
            == JSONObject(["signal": "SIGKILL", "task_id": ["id1", "id2"]]))
        #expect(try compile("revoke", .control, ["id1"]) == JSONObject(["task_id": ["id1"]]))
        #expect(try compile("pool_grow", .control, []) == JSONObject())
        #expect(try compile("autoscale", .control, ["4", "1"]) == JSONObject(["max": 4, "min": 1]))
        #expect(try compile("add_consumer", .control, ["q", "ex", "topic"])
            == JSONObject(["queue": "q", "exchange": "ex", "exchange_type": "topic"]))
        #expect(throws: ControlError.self) { try compile("pool_grow", .control, ["x"]) }
        #expect(throws: ControlError.self) { try compile("ping", .inspect, ["extra"]) }
        #expect(ControlCommandSpec.named("rate_limit", kind: .inspect) == nil)
        #expect(ControlCommandSpec.named("stats", kind: .control) == nil)
        #expect(ControlCommandSpec.named("ping", kind: .control) != nil)
        #expect(ControlCommandSpec.helpList(.control).contains("  rate_limit <task_name> <rate_limit"))
    }

    @Test("replies print as celery's CLI prints them")
    func output() {
        #expect(ControlOutput.reply(node: "w1@h", payload: ["ok": "pong"]) == "->  w1@h: OK\n        pong")
        #expect(ControlOutput.reply(node: "w1@h", payload: ["error": "unknown task"])
            == "->  w1@h: ERROR\n        unknown task")
        #expect(ControlOutput.reply(node: "w1@h", payload: ["tasks.add", "tasks.mul"])
            == "->  w1@h: OK\n    * tasks.add\n    * tasks.mul")
        #expect(ControlOutput.reply(node: "w1@h", payload: []) == "->  w1@h: OK\n    - empty -")
        #expect(ControlOutput.reply(node: "w1@h", payload: [["id": "x", "ok": true]])
            == "->  w1@h: OK\n    * {'id': 'x', 'ok': True}")
        #expect(ControlOutput.reply(node: "w1@h", payload: .null) == "->  w1@h: OK\n    None")
        #expect(ControlOutput.reply(node: "w1@h", payload: ["clock": 5, "b": ["x": [], "a": [1, 2.5]]])
            == """
            ->  w1@h: OK
                {
                    "b": {
                        "a": [
                            1,
                            2.5
                        ],
                        "x": []
                    },
                    "clock": 5
                }
            """)
        #expect(ControlOutput.summary(count: 1) == "\n1 node online.")
        #expect(ControlOutput.summary(count: 2) == "\n2 nodes online.")
    }
}
