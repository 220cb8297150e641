import PlugworkerBroker
import PlugworkerCore
import Testing
@testable import PlugworkerCelery

@Suite("rpc:// result messages")
struct ResultMessageTests {
    /// Checks a built result against a recorded one: same body (keys in
    /// any order), same properties.
    func check(_ built: ResultMessage, against message: JSON, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let recorded = message["body"] ?? .null
        let body = try JSON.parse(built.body)
        #expect(sortedKeys(body) == sortedKeys(recorded), sourceLocation: sourceLocation)
        let p = built.properties
        #expect(p.correlationID == message["properties"]?["correlation_id"]?.stringValue, sourceLocation: sourceLocation)
        #expect(p.contentType == "application/json" && p.contentEncoding == "utf-8", sourceLocation: sourceLocation)
        #expect(p.deliveryMode == 1 && p.priority == 0 && p.headers == JSONObject(), sourceLocation: sourceLocation)
        #expect(p.replyTo == nil && p.expiration == nil, sourceLocation: sourceLocation)
    }

    func recorded(_ name: String, _ index: Int = 0) throws -> (message: JSON, body: JSON, now: Double) {
        let message = Vectors.messages(try Vectors.load(name))[index]
        let body = message["body"] ?? .null
        let now = try body["date_done"].flatMap { try CeleryTime.parse($0) } ?? 0
        return (message, body, now)
    }

    @Test("SUCCESS matches result-success.json, date_done included")
    func success() throws {
        let (message, body, now) = try recorded("result-success")
        let built = ResultMessage(taskID: body["task_id"]!.stringValue!, state: .success(result: Array("5".utf8)), now: now)
        try check(built, against: message)
        // Field order as Python writes it.
        #expect(text(built.body) == #"{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "2026-11-21T11:01:14.289864+00:00", "task_id": "60a4602b-3ce6-4248-8ebc-6f074ce57ba7"}"#)
    }

    @Test("the result JSON is embedded verbatim")
    func verbatim() throws {
        let result = Array(#"{"b": [1.50, "é"], "a": null}"#.utf8)
        let built = ResultMessage(taskID: "t", state: .success(result: result), now: 0)
        #expect(text(built.body).contains(#""result": {"b": [1.50, "é"], "a": null}, "traceback""#))
        let empty = ResultMessage(taskID: "t", state: .success(result: []), now: 0)
        #expect(try JSON.parse(empty.body)["result"] == .null)
    }

    @Test("FAILURE with a builtin exception and its traceback")
    func failure() throws {
        let (message, body, now) = try recorded("result-failure-builtin-exception")
        let built = ResultMessage(
            taskID: body["task_id"]!.stringValue!,
            state: .failure(.valueError("boom"), traceback: body["traceback"]?.stringValue), now: now)
        try check(built, against: message)
        // Any traceback text will do.
        let other = ResultMessage(taskID: "x", state: .failure(.valueError("boom"), traceback: "at plugin.c:12\n"), now: now)
        #expect(try JSON.parse(other.body)["traceback"] == "at plugin.c:12\n")
    }

    @Test("FAILURE for an unregistered task: NotRegistered, traceback null")
    func notRegistered() throws {
        let (message, body, now) = try recorded("result-failure-notregistered")
        let built = ResultMessage(taskID: body["task_id"]!.stringValue!, state: .failure(.notRegistered("tasks.nope"), traceback: nil), now: now)
        try check(built, against: message)
    }

    @Test("FAILURE with parent_id after retries ran out")
    func failureWithParent() throws {
        let (message, body, now) = try recorded("result-failure-after-retries")
        let id = body["task_id"]!.stringValue!
        let built = ResultMessage(taskID: id, state: .failure(TaskException(type: "KeyError", module: "builtins", message: "nope"),
                                                              traceback: body["traceback"]?.stringValue),
                                  parentID: id, now: now)
        try check(built, against: message)
    }

    @Test("REVOKED expired")
    func revoked() throws {
        let (message, body, now) = try recorded("result-revoked-expired")
        let built = ResultMessage(taskID: body["task_id"]!.stringValue!, state: .revoked(reason: "expired"), now: now)
        try check(built, against: message)
    }

    @Test("STARTED: pid and hostname, date_done null")
    func started() throws {
        let (message, body, _) = try recorded("result-started")
        let built = ResultMessage(taskID: body["task_id"]!.stringValue!, state: .started(pid: 10983, hostname: "w1@capture"))
        try check(built, against: message)
        #expect(!built.body.isEmpty && text(built.body).contains(#""date_done": null"#))
    }

    @Test("group member carries group_id")
    func groupMember() throws {
        let (message, body, now) = try recorded("result-group-member")
        let built = ResultMessage(taskID: body["task_id"]!.stringValue!, state: .success(result: Array("2".utf8)),
                                  groupID: body["group_id"]?.stringValue, now: now)
        try check(built, against: message)
        #expect(text(built.body).hasSuffix(#""task_id": "a51afa95-9a2c-4575-b896-8e47a25f5057", "group_id": "8247779c-8e65-4793-8031-59611ba5bd9f"}"#))
    }

    @Test("RETRY: reason, traceback, children = itself, date_done null; then SUCCESS")
    func retrySequence() throws {
        let id = "b7dc255c-de56-4a03-b049-755036c495a3"
        let (m0, b0, _) = try recorded("result-retry-sequence", 0)
        try check(ResultMessage(taskID: id, state: .retry(TaskException(type: "RuntimeError", module: "builtins", message: "try 0"),
                                                            traceback: b0["traceback"]?.stringValue),
                                children: [.task(id)]), against: m0)
        let (m1, b1, _) = try recorded("result-retry-sequence", 1)
        try check(ResultMessage(taskID: id, state: .retry(TaskException(type: "RuntimeError", module: "builtins", message: "try 1"),
                                                            traceback: b1["traceback"]?.stringValue),
                                children: [.task(id)], parentID: id), against: m1)
        let (m2, _, now) = try recorded("result-retry-sequence", 2)
        try check(ResultMessage(taskID: id, state: .success(result: Array(#""ok after 2 retries""#.utf8)), parentID: id, now: now),
                  against: m2)
    }

    @Test("SUCCESS with a callback child")
    func children() throws {
        let (message, body, now) = try recorded("result-success-with-children")
        let built = ResultMessage(taskID: body["task_id"]!.stringValue!, state: .success(result: Array("4".utf8)),
                                  children: [.task("d8bb1087-59e9-4e4a-aab9-56601ad100d8")], now: now)
        try check(built, against: message)
    }

    @Test("group children, custom states, persistence, correlation id")
    func others() throws {
        let built = ResultMessage(taskID: "t", state: .custom(status: "PROGRESS", result: Array(#"{"done": 3}"#.utf8), traceback: nil),
                                  correlationID: "c", children: [.group(id: "g", members: ["a", "b"]), .task("d")],
                                  persistent: true)
        let body = try JSON.parse(built.body)
        #expect(body["status"] == "PROGRESS")
        #expect(body["date_done"] == .null)
        #expect(body["children"] == [[["g", nil], [[["a", nil], nil], [["b", nil], nil]]], [["d", nil], nil]])
        #expect(built.properties.correlationID == "c")
        #expect(built.properties.deliveryMode == 2)

        let reject = ResultMessage(taskID: "t", state: .custom(status: "FAILURE", result: Array(
            #"{"exc_type": "Reject", "exc_message": ["not today", false], "exc_module": "celery.exceptions"}"#.utf8), traceback: nil), now: 0)
        #expect(try JSON.parse(reject.body)["date_done"] == "1970-01-01T00:00:00+00:00")
    }

    @Test("built for a request: ids from the request")
    func forRequest() throws {
        let request = try decode("task-v2-errback-by-worker")
        let built = ResultMessage(for: request, state: .success(result: Array("null".utf8)), now: 0)
        let body = try JSON.parse(built.body)
        #expect(body["task_id"] == .string(request.id))
        #expect(body["group_id"] == "1a9c83fd-e1eb-492b-84b6-aeb3b594af51")
        #expect(body["parent_id"] == "ca71f4e3-d3de-4072-ba14-b7e99d740c9f")
        #expect(built.properties.correlationID == request.id)
    }

    @Test("strings are escaped")
    func escaping() throws {
        let built = ResultMessage(taskID: "t\"1", state: .failure(TaskException(type: "E", module: "m", message: "a\"b\\c\n\u{1}"),
                                                                   traceback: "tb\t"), now: 0)
        let body = try JSON.parse(built.body)
        #expect(body["result"]?["exc_message"] == ["a\"b\\c\n\u{1}"])
        #expect(body["task_id"] == "t\"1")
    }
}
