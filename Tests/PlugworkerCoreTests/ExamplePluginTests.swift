import Foundation
import Testing
@testable import PlugworkerCore

/// Every example task of Plugins/, called through NativeTask.invoke: the
/// call path a pool process uses for each request.
@Suite("Example plugins")
struct ExamplePluginTests {
    static let registry: Registry = Fixtures.examples().registry

    static func task(_ name: String) -> NativeTask {
        guard let t = registry.task(named: name) else { fatalError("\(name) not registered") }
        return t
    }

    @Test("the example plugins register exactly their tasks")
    func registered() {
        #expect(Self.registry.taskNames == ["arith.add", "arith.crash", "arith.div", "arith.flaky", "arith.mul", "arith.sleep", "text.upper", "text.wordcount"])
        #expect(Self.registry.module(named: "text")?.version == "1.0.0")
        #expect(Self.registry.failures.isEmpty)
    }

    @Test("arith", arguments: [
        ("arith.add", "[2, 3]", "{}", "5"),
        ("arith.add", "[]", #"{"b": 3, "a": 2}"#, "5"),
        ("arith.add", "[-9223372036854775808, 0]", "{}", "-9223372036854775808"),
        ("arith.mul", "[1.5, -4]", "{}", "-6.0"),
        ("arith.div", "[7, 2]", "{}", "3"),
        ("arith.div", "[7, -2]", "{}", "-4"),
        ("arith.sleep", "[0.01]", "{}", "null"),
        ("text.upper", #"["héllo wörld"]"#, "{}", #""HÉLLO WÖRLD""#),
        ("text.wordcount", #"[{"text": "the quick  brown fox"}]"#, "{}", #"{"words": 4}"#),
    ])
    func results(_ task: String, _ args: String, _ kwargs: String, _ expected: String) {
        #expect(Self.task(task).call(args, kwargs).resultText == expected)
    }

    @Test("arith.div by zero fails with ZeroDivisionError")
    func divByZero() {
        #expect(Self.task("arith.div").call("[1, 0]").exception == TaskException(type: "ZeroDivisionError", module: "builtins", message: "integer division or modulo by zero"))
    }

    @Test("arith.add overflow fails with OverflowError")
    func overflow() {
        #expect(Self.task("arith.add").call("[9223372036854775807, 1]").exception?.type == "OverflowError")
    }

    @Test("arith.flaky retries with countdown 0.1 until retried `failures` times")
    func flaky() {
        let t = Self.task("arith.flaky")
        #expect(t.call("[2]", retries: 0) == .retry(countdown: 0.1, reason: "flaky: retry 1 of 2"))
        #expect(t.call("[2]", retries: 1) == .retry(countdown: 0.1, reason: "flaky: retry 2 of 2"))
        #expect(t.call("[2]", retries: 2).resultText == "2")
        #expect(t.call("[5]", retries: 3).exception?.type == "MaxRetriesExceededError")
    }

    @Test("arith.sleep stops at the soft time limit with SoftTimeLimitExceeded")
    func softTimeLimit() {
        let t = Self.task("arith.sleep")
        let context = TaskContext(id: "s", taskName: t.name)
        context.softTimeLimitExceeded = { true }
        let e = t.invoke(argsJSON: "[30]", context: context).exception
        #expect(e?.type == "SoftTimeLimitExceeded" && e?.module == "billiard.exceptions")
    }

    @Test("text.wordcount refuses a document without text")
    func wordcountBad() {
        #expect(Self.task("text.wordcount").call("[[1]]").exception?.type == "ValueError")
    }

    @Test("the audit plugin registers a worker step, a consumer step and six handlers")
    func audit() throws {
        let steps = Self.registry.steps.filter { $0.module == "audit" }
        #expect(steps.map(\.name) == ["audit.WorkerStep", "audit.ConsumerStep"])
        #expect(steps.map(\.blueprint) == [.worker, .consumer])
        let audit = try #require(Self.registry.module(named: "audit"))
        #expect(Set(audit.signalHandlers.map(\.signal)) == [.workerInit, .workerProcessInit, .workerReady, .workerShutdown, .taskPrerun, .taskPostrun])
    }

    @Test("audit handlers append one line each to PLUGWORKER_AUDIT_LOG")
    func auditLog() throws {
        let log = Fixtures.makeTemporaryDirectory("audit") + "/audit.log"
        setenv("PLUGWORKER_AUDIT_LOG", log, 1)
        defer { unsetenv("PLUGWORKER_AUDIT_LOG") }
        Self.registry.send(.taskPrerun, SignalPayload(sender: "arith.add", pid: getpid(), taskID: "abc", taskName: "arith.add"))
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text == "task_prerun pid=\(getpid()) sender=arith.add task_id=abc task=arith.add\n")
    }

    @Test("arith.crash kills the process that runs it with SIGSEGV", .timeLimit(.minutes(1)))
    func crash() throws {
        let binary = Fixtures.root + "/.build/debug/plugworker"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the CLI first: swift build")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["apply", "--plugins", Fixtures.pluginsDir, "arith.crash"]
        p.environment = ["SWIFT_BACKTRACE": "enable=no", "PATH": "/usr/bin:/bin"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(p.terminationStatus == SIGSEGV)
    }
}
