import Foundation
import Testing

/// The pool for real: `plugworker apply --isolated` forks the zygote, which
/// forks a pool process that loads the plugins and runs the task. Each test
/// runs the built binary, so no fork ever happens in this (multi-threaded)
/// test process.
@Suite struct IsolatedApplyTests {
    func apply(_ args: [String], plugins: String = CLI.pluginsDir, environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["apply", "--isolated", "--plugins", plugins] + args, environment: environment)
    }

    @Test("arith.add 2 3 prints 5")
    func add() throws {
        let r = try apply(["arith.add", "2", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "5\n")
        #expect(r.stderr == "")
    }

    @Test("arith.div 1 0 fails with ZeroDivisionError")
    func divByZero() throws {
        let r = try apply(["arith.div", "1", "0"])
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.stderr == "ZeroDivisionError: integer division or modulo by zero\n")
    }

    @Test("arith.crash is a WorkerLostError, with one log line and no backtrace")
    func crash() throws {
        let r = try apply(["arith.crash"])
        #expect(r.status == 1)
        #expect(r.errorLines.last == "billiard.exceptions.WorkerLostError: Worker exited prematurely: signal 11 (SIGSEGV) Job: 1.")
        #expect(r.errorLines.count == 2, "\(r.stderr)")
        #expect(r.stderr.contains("ERROR/MainProcess] Process 'ForkPoolWorker-1' pid:"))
        #expect(r.stderr.contains("exited on signal 11 (SIGSEGV) while running arith.crash["))
        #expect(!r.stderr.contains("Backtrace"))
    }

    @Test("retries run again in the pool with the retry count")
    func retries() throws {
        let r = try apply(["arith.flaky", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "2\n")
        #expect(r.errorLines == ["Retry in 0.1s: flaky: retry 1 of 2", "Retry in 0.1s: flaky: retry 2 of 2"])
    }

    @Test("an unknown task is NotRegistered (exit 78)")
    func notRegistered() throws {
        let r = try apply(["arith.nope"])
        #expect(r.status == 78)
        #expect(r.stderr == "NotRegistered: 'arith.nope'\n")
    }

    @Test("--task definitions reach the pool process")
    func taskSpec() throws {
        let r = try CLI.run(["apply", "--isolated", "--task", "pow=libm.so.6:pow(x: double, y: double) -> double", "pow", "2", "10"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "1024.0\n")
    }

    @Test("worker_process_init and the task signals run in the pool process")
    func signals() throws {
        let dir = CLI.makeTemporaryDirectory("audit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/audit.log"
        let r = try apply(["arith.add", "2", "3"], environment: ["PLUGWORKER_AUDIT_LOG": log])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let names = lines.map { String($0.prefix { $0 != " " }) }
        #expect(names == ["worker_process_init", "task_prerun", "task_postrun"])
        let pids = Set(lines.compactMap { $0.split(separator: " ").first { $0.hasPrefix("pid=") } })
        #expect(pids.count == 1)
        #expect(!pids.contains("pid=\(r.pid)"), "signals ran in the master, not the pool process")
        #expect(lines.last?.hasSuffix("task=arith.add state=SUCCESS") == true)
        #expect(lines.last?.contains("sender=arith.add task_id=00000000-0000-4000-8000-000000000000") == true)
    }

    @Test("a plugin whose init crashes trips the restart cap instead of forking forever")
    func initCrash() throws {
        let r = try apply(["fixture.anything"], plugins: CLI.initCrashDir)
        #expect(r.status == 78, "\(r.stderr)")
        // The default cap for one process is 1 * 2 + 5 = 7 restarts: 8 deaths.
        let deaths = r.errorLines.filter { $0.contains("exited on signal 6 (SIGABRT) before it was ready") }
        #expect(deaths.count == 8, "\(r.stderr)")
        #expect(r.stderr.contains("pool processes crashed 8 times in 60 s; not restarting them — a plugin's init is probably crashing"))
        #expect(r.errorLines.last == "cannot run fixture.anything: no pool process could be started (see the log above)")
        #expect(r.seconds < 30)
    }
}
