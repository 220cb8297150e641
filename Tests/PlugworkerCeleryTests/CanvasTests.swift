import PlugworkerBroker
import PlugworkerCore
import Testing
@testable import PlugworkerCelery

/// What the worker publishes after a task, checked against the messages a
/// Python worker published in the recorded vectors.
@Suite("Canvas: callbacks, chain steps, errbacks")
struct CanvasTests {
    static let now = 1_795_258_878.0

    /// The request a vector's message decodes to.
    func request(_ name: String) throws -> TaskMessage {
        let v = try Vectors.load(name)
        return try TaskMessageDecoder.decode(Vectors.delivery(v), maxMessageSize: 1 << 20)
    }

    /// Ids handed out in order, as `newID`.
    func ids(_ list: [String]) -> @Sendable () -> String {
        let box = IDBox(list)
        return { box.next() }
    }

    /// The headers of `task` next to a recorded message's, both without
    /// the keys that legitimately differ.
    func compare(_ task: OutgoingTask, with name: String, ignoring: Set<String> = ["origin"],
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let recorded = try Vectors.load(name)
        let (p, body) = task.message.encode(now: Self.now)
        func strip(_ o: JSONObject) -> JSON {
            sortedKeys(.object(JSONObject(o.members.filter { !ignoring.contains($0.key) })))
        }
        let recordedHeaders = recorded["properties"]?["headers"]?.objectValue ?? JSONObject()
        #expect(strip(p.headers ?? JSONObject()) == strip(recordedHeaders), sourceLocation: sourceLocation)
        #expect(p.correlationID == recorded["properties"]?["correlation_id"]?.stringValue, sourceLocation: sourceLocation)
        #expect(p.deliveryMode == 2 && p.priority == 0, sourceLocation: sourceLocation)
        #expect(task.exchange == recorded["exchange"]?.stringValue, sourceLocation: sourceLocation)
        #expect(task.routingKey == recorded["routing_key"]?.stringValue, sourceLocation: sourceLocation)
        // The body, with an empty chain list written as null (Python's
        // last step has `[]`; both mean "no more steps").
        var recordedBody = recorded["body"]!
        if case .array(var parts) = recordedBody, case .object(var embed) = parts[2] {
            if embed["chain"]?.arrayValue?.isEmpty == true { embed["chain"] = .null }
            parts[2] = .object(embed)
            recordedBody = .array(parts)
        }
        #expect(sortedKeys(try JSON.parse(body)) == sortedKeys(recordedBody), sourceLocation: sourceLocation)
    }

    @Test("the next chain step: result prepended, id and reply_to from its options, rest of the chain in its embed")
    func chainNextStep() throws {
        let first = try request("task-v2-chain-first-step")
        let plan = Canvas.afterSuccess(of: first, result: Array("3".utf8), origin: "gen10983@vm", now: Self.now)
        #expect(plan.problems.isEmpty)
        #expect(plan.tasks.count == 1)
        #expect(plan.children == [.task("1db9ddf8-5b6f-4401-8d35-5ccc15ebde96")])
        try compare(plan.tasks[0], with: "task-v2-chain-next-step-by-worker")
        #expect(plan.tasks[0].declareQueue == "celery")
    }

    @Test("the last chain step is immutable: the parent's result is not prepended")
    func chainLastStep() throws {
        let first = try request("task-v2-chain-first-step")
        let second = Canvas.afterSuccess(of: first, result: Array("3".utf8), origin: "x", now: Self.now).tasks[0]
        let (p, body) = second.message.encode(now: Self.now)
        let secondRequest = try TaskMessageDecoder.decode(properties: p, body: body, maxMessageSize: 1 << 20)
        let plan = Canvas.afterSuccess(of: secondRequest, result: Array("9".utf8), origin: "gen10982@vm", now: Self.now)
        #expect(plan.tasks.count == 1)
        // argsrepr differs in form only: Python shows an immutable
        // signature's stored list, "[100, 1]"; we write the tuple.
        try compare(plan.tasks[0], with: "task-v2-chain-last-step-by-worker", ignoring: ["origin", "argsrepr"])
        // And it is the end of the chain.
        let last = try TaskMessageDecoder.decode(properties: plan.tasks[0].message.encode().properties,
                                                 body: plan.tasks[0].message.encode().body, maxMessageSize: 1 << 20)
        #expect(Canvas.afterSuccess(of: last, result: Array("101".utf8), origin: "x").tasks.isEmpty)
    }

    @Test("a link callback: args [result] + its args, parent and root are the task, reply_to copied from the parent")
    func linkCallback() throws {
        var parent = try request("task-v2-link-and-link_error")
        parent.id = "56150fd0-2ef9-494f-b314-346045e41f80"
        parent.rootID = parent.id
        parent.taskName = "tasks.add"
        let plan = Canvas.afterSuccess(of: parent, result: Array("4".utf8), origin: "gen10983@vm",
                                       newID: ids(["d8bb1087-59e9-4e4a-aab9-56601ad100d8"]), now: Self.now)
        #expect(plan.tasks.count == 1)
        #expect(plan.children == [.task("d8bb1087-59e9-4e4a-aab9-56601ad100d8")])
        try compare(plan.tasks[0], with: "task-v2-link-callback-by-worker")
        // The Python worker wrote its own rpc queue there; we copy the
        // parent's, so that the client can read the callback's result.
        #expect(plan.tasks[0].message.replyTo == parent.replyTo)
    }

    @Test("errbacks: one group, args [failed id] + their args, parent_id = the failed task")
    func errback() throws {
        var failed = try request("task-v2-link-and-link_error")
        failed.id = "ca71f4e3-d3de-4072-ba14-b7e99d740c9f"
        failed.rootID = failed.id
        let plan = Canvas.afterFailure(
            of: failed, exception: TaskException(type: "ValueError", module: "builtins", message: "boom"),
            traceback: nil, storeResult: true, origin: "gen10983@vm",
            newID: ids(["1a9c83fd-e1eb-492b-84b6-aeb3b594af51", "1c6e632b-daf3-4c9b-897b-46550c10be8b"]), now: Self.now)
        #expect(plan.chainResults.isEmpty)
        #expect(plan.errbacks.count == 1)
        try compare(plan.errbacks[0], with: "task-v2-errback-by-worker")
    }

    @Test("a failed chain step fails every remaining step, in stored order, to each step's reply_to")
    func chainFailurePropagation() throws {
        let recorded = Vectors.messages(try Vectors.load("result-chain-failure-propagation"))
        let queue = "cad153d8-12b6-3922-a6e9-4fd2714ea61d"
        func step(_ id: String, _ task: String, _ args: [JSON]) -> JSON {
            Signature(task: task, args: args, options: ["task_id": .string(id), "reply_to": .string(queue)]).json
        }
        var failed = try request("task-v2-chain-first-step")
        failed.id = "a9714a3b-2f3c-4fde-b5a8-1437d814d409"
        failed.embed.chain = [step("7583cec1-c1f9-44fa-bba2-3a2d3caf5c3d", "tasks.mul", [2]),
                              step("a6cc10bf-77bb-40d8-b336-15406347107b", "tasks.add", [1])]
        failed.embed.errbacks = []
        let exception = TaskException(type: "ValueError", module: "builtins", message: "chainboom")
        let plan = Canvas.afterFailure(of: failed, exception: exception, traceback: "Traceback…", storeResult: true,
                                       origin: "w", now: Self.now)
        #expect(plan.errbacks.isEmpty)
        #expect(plan.chainResults.map(\.queue) == [queue, queue])
        for (i, (_, result)) in plan.chainResults.enumerated() {
            let want = recorded[i + 1]
            let got = try JSON.parse(result.body)
            #expect(result.properties.correlationID == want["properties"]?["correlation_id"]?.stringValue)
            #expect(got["task_id"] == want["body"]?["task_id"])
            #expect(got["status"] == "FAILURE")
            #expect(sortedKeys(got["result"]!) == sortedKeys(want["body"]!["result"]!))
            #expect(got["parent_id"] == nil)
            #expect(Set(got.objectValue!.members.map(\.key)) == Set(want["body"]!.objectValue!.members.map(\.key)))
        }
        // Results ignored: nothing stored for the steps either (Celery's store_result=False).
        let ignored = Canvas.afterFailure(of: failed, exception: exception, traceback: nil, storeResult: false, origin: "w")
        #expect(ignored.chainResults.isEmpty)
    }

    @Test("several callbacks go out as one new group; a group callback on its own")
    func severalCallbacks() throws {
        var parent = try request("task-v2-basic")
        parent.embed.callbacks = [Signature(task: "a").json, Signature(task: "b", args: [1]).json,
                                  Signature.group([Signature(task: "c"), Signature(task: "d", immutable: true)]).json]
        let plan = Canvas.afterSuccess(of: parent, result: Array("7".utf8), origin: "w",
                                       newID: ids(["g1", "c", "d", "g2", "a", "b"]), now: Self.now)
        #expect(plan.problems.isEmpty)
        #expect(plan.tasks.map(\.message.taskName) == ["c", "d", "a", "b"])
        #expect(plan.tasks.map(\.message.group) == ["g1", "g1", "g2", "g2"])
        #expect(plan.tasks.map(\.message.groupIndex) == [0, 1, 0, 1])
        #expect(plan.tasks.map { text($0.message.args) } == ["[7]", "[]", "[7]", "[7, 1]"])
        #expect(plan.children == [.group(id: "g1", members: ["c", "d"]), .group(id: "g2", members: ["a", "b"])])
        #expect(plan.tasks.allSatisfy { $0.message.parentID == parent.id && $0.message.rootID == parent.rootID })
    }

    @Test("a callback's own options route it and set its timing")
    func callbackOptions() throws {
        var parent = try request("task-v2-basic")
        parent.embed.callbacks = [Signature(task: "x", options: [
            "queue": "q2", "countdown": 10, "expires": 60, "priority": 5, "time_limit": 30, "soft_time_limit": 20,
            "reply_to": "other", "link": Signature(task: "y").json,
        ]).json]
        let task = Canvas.afterSuccess(of: parent, result: Array("1".utf8), origin: "w", now: Self.now).tasks[0]
        #expect(task.routingKey == "q2" && task.exchange == "" && task.declareQueue == "q2")
        let (p, _) = task.message.encode(now: Self.now)
        #expect(p.headers?["eta"] == .string(CeleryTime.format(Self.now + 10)))
        #expect(p.headers?["expires"] == .string(CeleryTime.format(Self.now + 60)))
        #expect(p.expiration == "60000")
        #expect(p.priority == 5)
        #expect(p.headers?["timelimit"] == [30, 20])
        #expect(p.replyTo == "other")
        #expect(task.message.embed.callbacks.first?["task"] == "y")
        // An explicit exchange is used as given, and not declared.
        parent.embed.callbacks = [Signature(task: "x", options: ["exchange": "ex", "routing_key": "rk"]).json]
        let routed = Canvas.afterSuccess(of: parent, result: Array("1".utf8), origin: "w").tasks[0]
        #expect(routed.exchange == "ex" && routed.routingKey == "rk" && routed.declareQueue == nil)
    }

    @Test("a chord callback is not applied: logged as a problem, nothing sent")
    func unsupported() throws {
        var parent = try request("task-v2-basic")
        parent.embed.callbacks = [Signature(task: "celery.chord", subtaskType: "chord").json]
        let plan = Canvas.afterSuccess(of: parent, result: Array("1".utf8), origin: "w")
        #expect(plan.tasks.isEmpty)
        #expect(plan.problems.count == 1)
    }
}

/// Hands out the ids of a list in order (then fresh ones).
final class IDBox: @unchecked Sendable {
    var ids: [String]
    init(_ ids: [String]) { self.ids = ids }
    func next() -> String { ids.isEmpty ? UUID4.make() : ids.removeFirst() }
}
