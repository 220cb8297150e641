// A small Swift program that sends tasks with PlugworkerClient: to
// plugworker (Plugins/arith.c) or to any Celery worker with the same tasks.
//
//     swift run plugworker-client-example [--queue celery]
//
// The broker is $CELERY_BROKER_URL, else amqp://guest:guest@localhost:5672//.
// Exit status 0 when every line came out as expected, 1 otherwise.
import PlugworkerClient

#if canImport(Glibc)
import Glibc
#endif

var queue = "celery"
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let a = arguments.next() {
    if a == "--queue", let q = arguments.next() { queue = q }
}

do {
    let client = try CeleryClient()
    defer { client.close() }
    client.defaultQueue = queue
    let options = TaskOptions(queue: queue)

    // One task: send, then wait.
    let sum = try client.send("arith.add", args: [2, 3]).get(timeout: 10)
    print("add(2, 3) = \(sum.serialized)")

    // A chain: each step gets the previous result first.
    let chain = Signature.chain([
        Signature("arith.add", args: [2, 2], options: options),
        Signature("arith.mul", args: [4.0], options: options),
        Signature("arith.mul", args: [0.5], options: options),
    ])
    let last = try client.send(chain).get(timeout: 10)
    print("chain add(2, 2) | mul(4.0) | mul(0.5) = \(last.serialized)")

    // A failure: the worker's exception, typed.
    do {
        _ = try client.send("arith.div", args: [1, 0]).get(timeout: 10)
        print("div(1, 0) did not fail")
    } catch {
        // error is a ClientError: .taskFailed carries the worker's exception.
        guard let f = error.failure else { throw error }
        print("div(1, 0) raised \(f.excType): \(f.messageText)")
    }

    // A group: the members' results in order.
    let group = try client.send(group: (1...3).map { Signature("arith.add", args: [.int(Int64($0)), .int(Int64($0))], options: options) })
    print("group of 3 = \(JSON.array(try group.get(timeout: 10)).serialized)")
} catch {
    print("error: \(error)")
    exit(1)
}
