import PlugworkerBroker
import PlugworkerCore
import Testing
@testable import PlugworkerCelery

let limit = 1 << 20

func decode(_ name: String, message index: Int = 0) throws -> TaskMessage {
    let message = Vectors.messages(try Vectors.load(name))[index]
    return try TaskMessageDecoder.decode(Vectors.delivery(message), maxMessageSize: limit)
}

@Suite("Decoding the recorded task messages")
struct TaskMessageDecoderTests {
    @Test("every task vector decodes to what it recorded", arguments: Vectors.taskFiles)
    func everyVector(_ file: String) throws {
        for message in Vectors.messages(try Vectors.load(file)) {
            let request = try TaskMessageDecoder.decode(Vectors.delivery(message), maxMessageSize: limit)
            let headers = message["properties"]?["headers"]?.objectValue ?? JSONObject()
            let recorded = Vectors.decodedBody(message)
            if headers["task"] != nil {
                #expect(request.protocolVersion == 2)
                #expect(request.id == headers["id"]?.stringValue)
                #expect(request.taskName == headers["task"]?.stringValue)
                #expect(request.argsrepr == headers["argsrepr"]?.stringValue)
                #expect(request.kwargsrepr == headers["kwargsrepr"]?.stringValue)
                #expect(request.rootID == headers["root_id"]?.stringValue)
                #expect(request.parentID == headers["parent_id"]?.stringValue)
                #expect(request.origin == headers["origin"]?.stringValue)
                #expect(request.headers == headers)
                #expect(try JSON.parse(request.argsJSON) == recorded.arrayValue?[0])
                #expect(try JSON.parse(request.kwargsJSON) == recorded.arrayValue?[1])
                let embed = recorded.arrayValue?[2]
                #expect(request.embed.callbacks == (embed?["callbacks"]?.arrayValue ?? []))
                #expect(request.embed.errbacks == (embed?["errbacks"]?.arrayValue ?? []))
                #expect(request.embed.chain == (embed?["chain"]?.arrayValue ?? []))
            } else {
                #expect(request.protocolVersion == 1)
                #expect(request.id == recorded["id"]?.stringValue)
                #expect(request.taskName == recorded["task"]?.stringValue)
                #expect(try JSON.parse(request.argsJSON) == recorded["args"])
                #expect(try JSON.parse(request.kwargsJSON) == recorded["kwargs"])
            }
            #expect(request.replyTo == message["properties"]?["reply_to"]?.stringValue)
            #expect(request.correlationID == request.id)
            #expect(request.priority == message["properties"]?["priority"]?.int64Value.map { UInt8($0) })
            #expect(request.contentType == "application/json")
            // The body is always a protocol-2 body the ranges point into.
            let body = try JSON.parse(request.body)
            #expect(body.arrayValue?.count == 3)
            #expect(body.arrayValue?[0] == (try JSON.parse(request.argsJSON)))
            request.withArguments { args, kwargs in
                #expect(Array(args) == Array(request.argsJSON))
                #expect(Array(kwargs) == Array(request.kwargsJSON))
            }
        }
    }

    @Test("basic: add.delay(2, 3)")
    func basic() throws {
        let r = try decode("task-v2-basic")
        #expect(r.id == "f19f6f34-55b7-4bcb-9c2a-1d8bd5df1a7d")
        #expect(r.taskName == "tasks.add")
        #expect(r.displayName == "tasks.add")
        #expect(text(r.argsJSON) == "[2, 3]")
        #expect(text(r.kwargsJSON) == "{}")
        #expect(r.rootID == r.id)
        #expect(r.parentID == nil)
        #expect(r.group == nil && r.groupIndex == nil)
        #expect(r.eta == nil && r.etaText == nil && r.expires == nil && r.expiresText == nil)
        #expect(r.retries == 0)
        #expect(r.timeLimit == TaskMessage.TimeLimit(hard: nil, soft: nil))
        #expect(r.ignoreResult == false)
        #expect(r.replacedTaskNesting == 0)
        #expect(r.stamps == JSONObject())
        #expect(r.stampedHeaders == nil)
        #expect(r.origin == "gen10332@vm")
        #expect(r.argsrepr == "(2, 3)")
        #expect(r.kwargsrepr == "{}")
        #expect(r.replyTo == "8aaef038-b5fe-3fc3-a7f1-edc76d65060d")
        #expect(r.embed.isEmpty)
        #expect(!r.isExpired(at: 4e9))
    }

    @Test("kwargs only")
    func kwargs() throws {
        let r = try decode("task-v2-kwargs")
        #expect(text(r.argsJSON) == "[]")
        #expect(text(r.kwargsJSON) == #"{"x": 4, "y": 5}"#)
        #expect(r.kwargsrepr == "{'x': 4, 'y': 5}")
    }

    @Test("countdown, expires and priority")
    func countdownExpires() throws {
        let r = try decode("task-v2-countdown-expires-priority")
        #expect(r.eta == 1_795_258_873.786105)
        #expect(r.etaText == "2026-11-21T11:01:13.786105+00:00")
        #expect(r.expires == 1_795_258_963.786105)
        #expect(r.expiresText == "2026-11-21T11:02:43.786105+00:00")
        #expect(r.priority == 5)
        #expect(r.isExpired(at: 1_795_258_963.8))
        #expect(!r.isExpired(at: 1_795_258_963.7))
    }

    @Test("absolute eta")
    func etaAbsolute() throws {
        #expect(try decode("task-v2-eta-absolute").eta == 1_925_089_445)
    }

    @Test("timelimit [30, 20] is hard 30, soft 20")
    func timeLimit() throws {
        #expect(try decode("task-v2-timelimit").timeLimit == TaskMessage.TimeLimit(hard: 30, soft: 20))
    }

    @Test("link and link_error become callbacks and errbacks")
    func links() throws {
        let r = try decode("task-v2-link-and-link_error")
        #expect(r.taskName == "tasks.fail")
        #expect(text(r.argsJSON) == #"["boom"]"#)
        #expect(r.argsrepr == "('boom',)")
        #expect(r.embed.callbacks.count == 1)
        #expect(r.embed.callbacks.first?["task"] == "tasks.mul")
        #expect(r.embed.callbacks.first?["args"] == [10])
        #expect(r.embed.errbacks.count == 1)
        #expect(r.embed.errbacks.first?["task"] == "tasks.on_error")
        #expect(r.embed.chain.isEmpty && r.embed.chord == nil)
    }

    @Test("custom header kept, shadow name shown")
    func customHeaderAndShadow() throws {
        let r = try decode("task-v2-custom-header-and-shadow")
        #expect(r.shadow == "add-shadowed")
        #expect(r.displayName == "add-shadowed")
        #expect(r.taskName == "tasks.add")
        #expect(r.headers["x-custom"] == "hello")
    }

    @Test("send_task of an unknown name: ignore_result null")
    func sendTask() throws {
        let r = try decode("task-v2-send_task-unregistered-name")
        #expect(r.taskName == "tasks.unknown")
        #expect(r.ignoreResult == nil)
        #expect(r.argsrepr == "[1]")
        #expect(text(r.kwargsJSON) == #"{"a": 2}"#)
    }

    @Test("ignore_result true")
    func ignoreResult() throws {
        #expect(try decode("task-v2-ignore_result").ignoreResult == true)
    }

    @Test("group member")
    func groupMember() throws {
        let r = try decode("task-v2-group-member")
        #expect(r.group == "8247779c-8e65-4793-8031-59611ba5bd9f")
        #expect(r.groupIndex == 0)
    }

    @Test("chain: remaining steps in reverse order")
    func chain() throws {
        let first = try decode("task-v2-chain-first-step")
        #expect(first.embed.chain.count == 2)
        #expect(first.embed.chain.last?["task"] == "tasks.mul")  // next step
        #expect(first.embed.chain.last?["options"]?["task_id"] == "1db9ddf8-5b6f-4401-8d35-5ccc15ebde96")
        #expect(first.embed.chain.first?["task"] == "tasks.add")
        #expect(first.embed.chain.first?["immutable"] == true)

        let next = try decode("task-v2-chain-next-step-by-worker")
        #expect(text(next.argsJSON) == "[3, 3]")
        #expect(next.parentID == "8c4e7af9-9fad-4e6e-bba8-bbb5cc42ad3b")
        #expect(next.rootID == "8c4e7af9-9fad-4e6e-bba8-bbb5cc42ad3b")
        #expect(next.embed.chain.count == 1)

        let last = try decode("task-v2-chain-last-step-by-worker")
        #expect(last.embed.chain.isEmpty)
        #expect(last.argsrepr == "[100, 1]")
    }

    @Test("worker-published callback and errback")
    func byWorker() throws {
        let callback = try decode("task-v2-link-callback-by-worker")
        #expect(text(callback.argsJSON) == "[4, 10]")
        #expect(callback.parentID == "56150fd0-2ef9-494f-b314-346045e41f80")
        let errback = try decode("task-v2-errback-by-worker")
        #expect(errback.group == "1a9c83fd-e1eb-492b-84b6-aeb3b594af51")
        #expect(errback.groupIndex == 0)
        #expect(text(errback.argsJSON) == #"["ca71f4e3-d3de-4072-ba14-b7e99d740c9f"]"#)
    }

    @Test("retry re-publishes: retries, eta, parent_id")
    func retries() throws {
        let original = try decode("task-v2-retry-republish-by-worker", message: 0)
        let retry1 = try decode("task-v2-retry-republish-by-worker", message: 1)
        let retry2 = try decode("task-v2-retry-republish-by-worker", message: 2)
        #expect(original.retries == 0 && original.parentID == nil && original.eta == nil)
        #expect(retry1.retries == 1 && retry1.parentID == retry1.id && retry1.id == original.id)
        #expect(retry1.eta == 1_795_258_876.314679)
        #expect(retry2.retries == 2 && retry2.eta == 1_795_258_877.316849)
    }

    @Test("zlib-compressed body from body_raw_b64")
    func compressed() throws {
        let r = try decode("task-v2-compressed-zlib")
        #expect(r.headers["compression"] == "application/x-gzip")
        #expect(text(r.body) == #"[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#)
        #expect(text(r.argsJSON) == "[2, 3]")
        #expect(text(r.kwargsJSON) == "{}")
        #expect(r.embed.isEmpty)
    }

    @Test("protocol 1: everything in the body")
    func protocol1() throws {
        let r = try decode("task-v1")
        #expect(r.protocolVersion == 1)
        #expect(r.id == "0a836079-b415-40f0-aef6-196a0c36bb3a")
        #expect(r.taskName == "tasks.add")
        #expect(text(r.argsJSON) == "[2, 3]")
        #expect(text(r.kwargsJSON) == "{}")
        #expect(r.argsrepr == "(2, 3)")
        #expect(r.kwargsrepr == "{}")
        #expect(r.eta == 1_795_259_073.715269)
        #expect(r.expires == 1_795_259_128.715269)
        #expect(r.retries == 0)
        #expect(r.group == nil)
        #expect(r.timeLimit == TaskMessage.TimeLimit())
        #expect(r.embed.callbacks.count == 1)
        #expect(r.embed.callbacks.first?["task"] == "tasks.mul")
        #expect(r.embed.errbacks.isEmpty && r.embed.chain.isEmpty)
        #expect(r.headers["utc"] == true)
        #expect(r.headers["args"] == nil)
        let body = try JSON.parse(r.body)
        #expect(body.arrayValue?.count == 3)
        #expect(body.arrayValue?[2]["callbacks"]?.arrayValue?.count == 1)
    }

    @Test("protocol 1 without args or kwargs runs with none, as Celery does")
    func protocol1Defaults() throws {
        let body = Array(#"{"task": "tasks.ping", "id": "abc", "taskset": "g1", "timelimit": [0, 5.5]}"#.utf8)
        let r = try TaskMessageDecoder.decode(
            properties: MessageProperties(contentType: "application/json", headers: JSONObject()), body: body,
            maxMessageSize: limit)
        #expect(text(r.argsJSON) == "[]")
        #expect(text(r.kwargsJSON) == "{}")
        #expect(r.argsrepr == "()")
        #expect(r.group == "g1")
        #expect(r.timeLimit == TaskMessage.TimeLimit(hard: nil, soft: 5.5))
    }

    @Test("hybrid: task header with a protocol-1 body; headers win")
    func hybrid() throws {
        let body = Array(#"{"args": [1, "x"], "kwargs": {"k": null}, "id": "body-id", "retries": 2, "eta": "2031-01-02T03:04:05Z"}"#.utf8)
        let headers = JSONObject(["task": "tasks.h", "id": "header-id"])
        let r = try TaskMessageDecoder.decode(
            properties: MessageProperties(contentType: "application/json", headers: headers, replyTo: "rq"),
            body: body, maxMessageSize: limit)
        #expect(r.protocolVersion == 1)
        #expect(r.id == "header-id")
        #expect(r.taskName == "tasks.h")
        #expect(r.retries == 2)
        #expect(r.eta == 1_925_089_445)
        #expect(text(r.argsJSON) == #"[1, "x"]"#)
        #expect(text(r.kwargsJSON) == #"{"k": null}"#)
        #expect(r.argsrepr == "(1, 'x')")
        #expect(r.kwargsrepr == "{'k': None}")
    }

    @Test("lenient where Python is: charset, missing content type, null embed, odd cosmetic headers")
    func lenient() throws {
        var headers = JSONObject(["task": "tasks.add", "id": "i1", "lang": 5, "shadow": 7, "origin": [1], "argsrepr": nil])
        headers["timelimit"] = [30.5, 0]
        headers["stamped_headers"] = ["s1"]
        headers["stamps"] = ["s1": "v"]
        let body = Array(#"[[1.5, "é", true], {}, null]"#.utf8)
        for contentType in ["application/json; charset=utf-8", "Application/JSON", nil, ""] {
            let r = try TaskMessageDecoder.decode(
                properties: MessageProperties(contentType: contentType, contentEncoding: "UTF-8", headers: headers),
                body: body, maxMessageSize: limit)
            #expect(r.shadow == nil && r.origin == nil)
            #expect(r.argsrepr == "(1.5, 'é', True)")
            #expect(r.timeLimit == TaskMessage.TimeLimit(hard: 30.5, soft: nil))
            #expect(r.stampedHeaders == ["s1"])
            #expect(r.stamps["s1"] == "v")
            #expect(r.embed.isEmpty)
            #expect(r.rootID == nil)
        }
    }

    @Test("a lone signature dict counts as a list of one; chord kept")
    func loneSignature() throws {
        let body = Array(#"[[], {}, {"callbacks": {"task": "t.cb"}, "chord": {"task": "t.body"}}]"#.utf8)
        let r = try TaskMessageDecoder.decode(
            properties: MessageProperties(headers: JSONObject(["task": "t", "id": "i"])), body: body, maxMessageSize: limit)
        #expect(r.embed.callbacks == [["task": "t.cb"]])
        #expect(r.embed.chord == ["task": "t.body"])
    }
}
