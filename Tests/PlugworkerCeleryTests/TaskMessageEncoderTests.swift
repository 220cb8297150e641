import PlugworkerBroker
import PlugworkerCore
import Testing
@testable import PlugworkerCelery

@Suite("Encoding protocol-2 task messages")
struct TaskMessageEncoderTests {
    @Test("headers and body shaped like a Python client's (task-v2-basic.json)")
    func shape() throws {
        let recorded = try Vectors.load("task-v2-basic")
        var e = TaskMessageEncoder(taskName: "tasks.add", id: "f19f6f34-55b7-4bcb-9c2a-1d8bd5df1a7d", args: Array("[2, 3]".utf8))
        e.replyTo = "8aaef038-b5fe-3fc3-a7f1-edc76d65060d"
        e.origin = "gen10332@vm"
        let (p, body) = e.encode()

        let recordedHeaders = recorded["properties"]?["headers"]?.objectValue ?? JSONObject()
        #expect(Set(p.headers?.members.map(\.key) ?? []) == Set(recordedHeaders.members.map(\.key)))
        // Key for key, the values equal the recorded ones.
        #expect(sortedKeys(.object(p.headers!)) == sortedKeys(.object(recordedHeaders)))
        // In Celery's order.
        #expect(p.headers?.members.map(\.key) == TaskMessageEncoder.standardHeaders)
        #expect(p.correlationID == e.id)
        #expect(p.replyTo == e.replyTo)
        #expect(p.deliveryMode == 2 && p.priority == 0)
        #expect(p.contentType == "application/json" && p.contentEncoding == "utf-8")
        #expect(p.expiration == nil)
        // The body as kombu writes it.
        #expect(text(body) == #"[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#)
        #expect(sortedKeys(try JSON.parse(body)) == sortedKeys(recorded["body"]!))
    }

    @Test("what is encoded decodes back to the same request")
    func roundTrip() throws {
        let now = 1_795_258_843.786105
        var e = TaskMessageEncoder(taskName: "arith.mul", id: "id-1", args: Array(#"[1, "x", [true]]"#.utf8),
                                   kwargs: Array(#"{"k": 2.5}"#.utf8))
        e.replyTo = "rq"
        e.countdown = 30
        e.expires = now + 120
        e.retries = 2
        e.parentID = "p"
        e.rootID = "r"
        e.group = "g"
        e.groupIndex = 3
        e.shadow = "mul-shadow"
        e.timeLimit = TaskMessage.TimeLimit(hard: 30, soft: 20.5)
        e.ignoreResult = true
        e.origin = "w1@host"
        e.priority = 7
        e.replacedTaskNesting = 1
        e.stampedHeaders = ["mystamp"]
        e.stamps = JSONObject(["mystamp": "v"])
        e.extraHeaders = JSONObject(["x-custom": "hello"])
        e.embed = TaskMessage.Embed(callbacks: [["task": "t.cb"]], errbacks: [["task": "t.eb"]],
                                    chain: [["task": "t.s2"], ["task": "t.s1"]])
        let (p, body) = e.encode(now: now)
        #expect(p.expiration == "120000")

        let r = try TaskMessageDecoder.decode(properties: p, body: body, maxMessageSize: 1 << 20)
        #expect(r.protocolVersion == 2)
        #expect(r.id == "id-1" && r.taskName == "arith.mul" && r.correlationID == "id-1")
        #expect(text(r.argsJSON) == #"[1, "x", [true]]"#)
        #expect(text(r.kwargsJSON) == #"{"k": 2.5}"#)
        #expect(r.argsrepr == "(1, 'x', [True])")
        #expect(r.kwargsrepr == "{'k': 2.5}")
        #expect(r.eta == 1_795_258_873.786105)
        #expect(r.etaText == "2026-11-21T11:01:13.786105+00:00")
        #expect(r.expires == now + 120)
        #expect(r.retries == 2 && r.parentID == "p" && r.rootID == "r")
        #expect(r.group == "g" && r.groupIndex == 3 && r.shadow == "mul-shadow")
        #expect(r.timeLimit == TaskMessage.TimeLimit(hard: 30, soft: 20.5))
        #expect(r.ignoreResult == true && r.origin == "w1@host" && r.priority == 7)
        #expect(r.replacedTaskNesting == 1 && r.stampedHeaders == ["mystamp"] && r.stamps["mystamp"] == "v")
        #expect(r.headers["x-custom"] == "hello")
        #expect(r.embed == e.embed)
        #expect(r.replyTo == "rq")
        #expect(p.headers?["timelimit"] == [30, 20.5])
    }

    @Test("compressed messages decode")
    func compressed() throws {
        var e = TaskMessageEncoder(taskName: "t", id: "i", args: Array("[\(String(repeating: "1, ", count: 1000))1]".utf8))
        e.compress = true
        let (p, body) = e.encode()
        #expect(p.headers?["compression"] == "application/x-gzip")
        #expect(body.starts(with: [0x78, 0x9C]))
        let r = try TaskMessageDecoder.decode(properties: p, body: body, maxMessageSize: 1 << 20)
        #expect(r.argsJSON.count == 3003)
        #expect(r.argsrepr.hasSuffix("..."))
    }

    @Test("expired before sending: expiration 0; no reply_to: empty string, as Python")
    func edges() {
        var e = TaskMessageEncoder(taskName: "t", id: "i")
        e.expires = 100
        let (p, _) = e.encode(now: 200)
        #expect(p.expiration == "0")
        #expect(p.replyTo == "")
        #expect(p.headers?["argsrepr"] == "()" && p.headers?["kwargsrepr"] == "{}")
        #expect(p.headers?["root_id"] == "i")
        #expect(p.headers?["eta"] == .null)
    }

    @Test("a retry re-publishes like the Python worker (task-v2-retry-republish-by-worker.json)")
    func retry() throws {
        let vector = try Vectors.load("task-v2-retry-republish-by-worker")
        let messages = Vectors.messages(vector)
        let original = try TaskMessageDecoder.decode(Vectors.delivery(messages[0]), maxMessageSize: 1 << 20)
        let retry1 = messages[1]
        let recordedETA = try CeleryTime.parse(retry1["properties"]!["headers"]!["eta"]!)!

        let e = TaskMessageEncoder.retry(of: original, countdown: 1)
        let (p, body) = e.encode(now: recordedETA - 1)
        #expect(sortedKeys(.object(p.headers!)) == sortedKeys(retry1["properties"]!["headers"]!))
        #expect(p.correlationID == retry1["properties"]?["correlation_id"]?.stringValue)
        #expect(p.replyTo == retry1["properties"]?["reply_to"]?.stringValue)
        #expect(sortedKeys(try JSON.parse(body)) == sortedKeys(retry1["body"]!))

        // The custom headers of the original survive a retry.
        let custom = try TaskMessageDecoder.decode(Vectors.delivery(Vectors.messages(try Vectors.load("task-v2-custom-header-and-shadow"))[0]),
                                                   maxMessageSize: 1 << 20)
        let (cp, _) = TaskMessageEncoder.retry(of: custom, countdown: 5).encode()
        #expect(cp.headers?["x-custom"] == "hello")
        #expect(cp.headers?["shadow"] == "add-shadowed")
        #expect(cp.headers?["retries"] == 1)
        #expect(cp.headers?["parent_id"] == .string(custom.id))
    }

    @Test("chain steps keep an empty chain as null and re-decode")
    func chainStep() throws {
        let first = try decode("task-v2-chain-first-step")
        var next = first.embed.chain
        let step = next.removeLast()
        var e = TaskMessageEncoder(taskName: step["task"]!.stringValue!, id: step["options"]!["task_id"]!.stringValue!,
                                   args: Array("[3, 3]".utf8))
        e.replyTo = step["options"]?["reply_to"]?.stringValue
        e.parentID = first.id
        e.rootID = first.rootID
        e.embed.chain = next
        let (p, body) = e.encode()
        let r = try TaskMessageDecoder.decode(properties: p, body: body, maxMessageSize: 1 << 20)
        #expect(r.embed.chain.count == 1)
        #expect(r.taskName == "tasks.mul")
        #expect(r.argsrepr == "(3, 3)")
    }
}
