import Testing
@testable import PlugworkerClient

/// The producer library's options become the headers and properties a
/// Python client's `apply_async` writes (no broker needed).
@Suite("PlugworkerClient: sending options")
struct TaskOptionsTests {
    static let now = 1_795_258_878.0

    func applier() -> SignatureApplier {
        var a = SignatureApplier(replyTo: "reply-q", origin: "gen1@host", defaultQueue: "celery")
        a.now = Self.now
        return a
    }

    @Test("every option lands where apply_async puts it")
    func options() throws {
        let callback = Signature(task: "arith.mul", args: [10.0])
        let errback = Signature(task: "text.upper")
        let options = TaskOptions(taskID: "t-1", countdown: 5, expires: 60, priority: 7, queue: "images",
                                  timeLimit: 30, softTimeLimit: 20, link: [callback], linkError: [errback],
                                  ignoreResult: true, shadow: "add-shadowed", headers: ["x-custom": "hello"])
        let sig = Signature(task: "arith.add", args: [2, 3], kwargs: ["k": 1], options: options.signatureOptions(now: Self.now))
        let task = applier().message(for: sig)
        #expect(task.exchange == "" && task.routingKey == "images" && task.declareQueue == "images")
        let (p, body) = task.message.encode(now: Self.now)
        let h = p.headers!
        #expect(h["id"] == "t-1" && p.correlationID == "t-1")
        #expect(h["root_id"] == "t-1" && h["parent_id"] == .null)
        #expect(h["task"] == "arith.add")
        #expect(h["eta"] == .string(CeleryTime.format(Self.now + 5)))
        #expect(h["expires"] == .string(CeleryTime.format(Self.now + 60)))
        #expect(p.expiration == "60000")
        #expect(p.priority == 7)
        #expect(h["timelimit"] == [30, 20])
        #expect(h["ignore_result"] == true)
        #expect(h["shadow"] == "add-shadowed")
        #expect(h["x-custom"] == "hello")
        #expect(h["origin"] == "gen1@host")
        #expect(h["argsrepr"] == "(2, 3)" && h["kwargsrepr"] == "{'k': 1}")
        #expect(p.replyTo == "reply-q")
        #expect(p.deliveryMode == 2)
        let b = try JSON.parse(body)
        #expect(b[0] == [2, 3] && b[1] == ["k": 1])
        #expect(b[2]?["callbacks"] == [callback.json])
        #expect(b[2]?["errbacks"] == [errback.json])
        #expect(b[2]?["chain"] == .null && b[2]?["chord"] == .null)
    }

    @Test("no options: apply_async's defaults, the default queue, a fresh id")
    func defaults() {
        let task = applier().message(for: Signature(task: "arith.add", args: [1, 2]))
        #expect(task.routingKey == "celery" && task.declareQueue == "celery")
        let (p, _) = task.message.encode(now: Self.now)
        #expect(p.headers?["eta"] == .null && p.headers?["expires"] == .null && p.expiration == nil)
        #expect(p.headers?["timelimit"] == [.null, .null])
        #expect(p.headers?["ignore_result"] == false)
        #expect(p.priority == 0)
        #expect(task.message.id.count == 36)
    }

    @Test("an absolute eta is sent as given")
    func eta() {
        let options = TaskOptions(eta: Self.now + 3600).signatureOptions()
        let task = applier().message(for: Signature(task: "t", options: options))
        #expect(task.message.encode(now: Self.now).properties.headers?["eta"] == .string(CeleryTime.format(Self.now + 3600)))
    }

    @Test("a chain: the first step carries the others, reversed, with ids and the reply queue frozen")
    func chain() throws {
        let steps = [Signature(task: "arith.add", args: [2, 2]), Signature(task: "arith.mul", args: [4.0]),
                     Signature(task: "arith.add", args: [1, 1], immutable: true)]
        let application = applier().apply(.chain(steps, options: ["queue": "q"]))
        #expect(application.tasks.count == 1)
        let first = application.tasks[0]
        #expect(first.message.taskName == "arith.add" && first.routingKey == "q")
        let rest = first.message.embed.chain.compactMap(Signature.init(json:))
        #expect(rest.map(\.task) == ["arith.add", "arith.mul"])  // next step last
        #expect(rest.allSatisfy { $0.taskID != nil && $0.option("reply_to") == "reply-q" && $0.option("queue") == "q" })
        #expect(rest[0].immutable)
        #expect(application.child == .task(rest[0].taskID!))  // the chain's result is its last step
    }

    @Test("a group: members share a group id and carry their index")
    func group() {
        let members = (0..<3).map { Signature(task: "arith.add", args: [.int(Int64($0)), 1]) }
        let application = applier().apply(.group(members, options: ["queue": "q"]))
        #expect(application.tasks.count == 3)
        let gid = application.tasks[0].message.group
        #expect(gid != nil && application.tasks.allSatisfy { $0.message.group == gid && $0.routingKey == "q" })
        #expect(application.tasks.map(\.message.groupIndex) == [0, 1, 2])
        #expect(application.child == .group(id: gid!, members: application.tasks.map(\.message.id)))
    }

    @Test("a task failure reads like Python's exception line")
    func failure() {
        let builtin = TaskFailure(taskID: "t", state: "FAILURE",
                                  result: ["exc_type": "ZeroDivisionError", "exc_module": "builtins",
                                           "exc_message": ["integer division or modulo by zero"]], traceback: nil)
        #expect(builtin.description == "ZeroDivisionError: integer division or modulo by zero")
        let revoked = TaskFailure(taskID: "t", state: "REVOKED",
                                  result: ["exc_type": "TaskRevokedError", "exc_module": "celery.exceptions",
                                           "exc_message": ["expired"]], traceback: nil)
        #expect(revoked.description == "celery.exceptions.TaskRevokedError: expired")
        #expect(TaskFailure(taskID: "t", state: "FAILURE", result: "odd", traceback: nil).description == "FAILURE: ")
    }
}
