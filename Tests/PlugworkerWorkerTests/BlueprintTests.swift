import Logging
import PlugworkerCore
import Synchronization
import Testing
@testable import PlugworkerWorker

// MARK: Fixtures

/// What the blueprint runs in these tests: records every call.
final class BlueprintRecorder {
    var calls: [String] = []
    /// Read by include conditions.
    var flags: Set<String> = []
}

struct TestStepFailure: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}

/// Collects what a blueprint logs.
final class BlueprintLogStore: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])
    func messages(atLeast level: Logger.Level) -> [String] {
        lines.withLock { $0.filter { $0.0 >= level }.map(\.1) }
    }
}

struct BlueprintLogHandler: LogHandler {
    let store: BlueprintLogStore
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        store.lines.withLock { $0.append((event.level, event.message.description)) }
    }
}

/// A step that records `create A`, `start A`, `stop A`, `shutdown A`, and
/// throws in the phases named in `failing`.
func bootStep(_ name: String, requires: [String] = [], last: Bool = false, origin: String = "built-in",
          include: @escaping (BlueprintRecorder) -> Bool = { _ in true }, failing: Set<String> = []) -> BootStep<BlueprintRecorder> {
    func action(_ phase: String) -> BootStep<BlueprintRecorder>.Action {
        { r in
            r.calls.append("\(phase) \(name)")
            if failing.contains(phase) { throw TestStepFailure(text: "\(name) \(phase) broke") }
        }
    }
    return BootStep(name, requires: requires, last: last, origin: origin, include: include,
                    create: action("create"), start: action("start"), stop: action("stop"), shutdown: action("shutdown"))
}

func testBlueprint(_ steps: [BootStep<BlueprintRecorder>], log: BlueprintLogStore = BlueprintLogStore()) -> Blueprint<BlueprintRecorder> {
    Blueprint(name: "Test", steps: steps, logger: Logger(label: "test.blueprint") { _ in BlueprintLogHandler(store: log) })
}

func orderNames(_ steps: [BootStep<BlueprintRecorder>]) throws -> [String] {
    try testBlueprint(steps).order().map(\.name)
}

/// The `BlueprintError` `body` throws (nil if it throws nothing or
/// something else).
func blueprintError(_ body: () throws -> Void) -> BlueprintError? {
    do {
        try body()
        return nil
    } catch {
        return error as? BlueprintError
    }
}

// MARK: Ordering

@Suite("Blueprint: order")
struct BlueprintOrderTests {
    @Test("requires order the steps; free steps keep their declaration order")
    func requiresAndDeclarationOrder() throws {
        #expect(try orderNames([bootStep("A"), bootStep("B", requires: ["C"]), bootStep("C"), bootStep("D", requires: ["A"])]) == ["A", "C", "B", "D"])
        #expect(try orderNames([bootStep("Pool", requires: ["Hub"]), bootStep("Hub", requires: ["Timer"]), bootStep("Timer")]) == ["Timer", "Hub", "Pool"])
        #expect(try orderNames([bootStep("X"), bootStep("Y"), bootStep("Z")]) == ["X", "Y", "Z"])
        // Several requires: after all of them.
        #expect(try orderNames([bootStep("A", requires: ["C", "B"]), bootStep("B"), bootStep("C")]) == ["B", "C", "A"])
    }

    @Test("the worker blueprint's shape: Timer, Hub, Pool, Beat, StateDB, then Consumer (last)")
    func workerShape() throws {
        let steps = [bootStep("Consumer", requires: ["Pool"], last: true), bootStep("Timer"), bootStep("Hub", requires: ["Timer"]),
                     bootStep("Pool", requires: ["Hub"]), bootStep("Beat", requires: ["Pool"]), bootStep("StateDB"),
                     bootStep("audit.WorkerStep", requires: ["Pool"], origin: "plugin audit (audit:audit_worker_step)")]
        #expect(try orderNames(steps) == ["Timer", "Hub", "Pool", "Beat", "StateDB", "audit.WorkerStep", "Consumer"])
    }

    @Test("last steps come after every other step, in declaration order")
    func lastSteps() throws {
        #expect(try orderNames([bootStep("L", last: true), bootStep("A"), bootStep("B")]) == ["A", "B", "L"])
        #expect(try orderNames([bootStep("L1", last: true), bootStep("A"), bootStep("L2", last: true), bootStep("B", requires: ["A"])])
                == ["A", "B", "L1", "L2"])
        // A last step's own requires still hold.
        #expect(try orderNames([bootStep("L1", last: true), bootStep("L2", last: true), bootStep("L3", last: true)]) == ["L1", "L2", "L3"])
        #expect(try orderNames([bootStep("L", requires: ["B"], last: true), bootStep("A"), bootStep("B")]) == ["A", "B", "L"])
    }

    @Test("an ordinary step that requires a last one comes after it")
    func requiresLast() throws {
        #expect(try orderNames([bootStep("A"), bootStep("E", requires: ["L"]), bootStep("L", last: true), bootStep("B")]) == ["A", "B", "L", "E"])
        // And whatever requires that step comes after it too.
        #expect(try orderNames([bootStep("F", requires: ["E"]), bootStep("E", requires: ["L"]), bootStep("L", last: true), bootStep("A")])
                == ["A", "L", "E", "F"])
    }
}

// MARK: Include conditions

@Suite("Blueprint: include conditions")
struct BlueprintIncludeTests {
    @Test("excluded steps never run but still take part in the order")
    func excludedDoNotRun() throws {
        let r = BlueprintRecorder()
        r.flags = ["beat"]
        let b = testBlueprint([bootStep("A"), bootStep("Beat", requires: ["A"], include: { $0.flags.contains("beat") }),
                           bootStep("Mingle", requires: ["A"], include: { _ in false }),
                           bootStep("Tasks", requires: ["Mingle"]), bootStep("L", last: true)])
        #expect(try b.order().map(\.name) == ["A", "Beat", "Mingle", "Tasks", "L"])
        try b.apply(r)
        #expect(b.active.map(\.name) == ["A", "Beat", "Tasks", "L"])
        try b.start(r)
        b.stop(r)
        b.shutdown(r)
        #expect(!r.calls.contains { $0.hasSuffix(" Mingle") })
        #expect(r.calls == ["create A", "create Beat", "create Tasks", "create L",
                            "start A", "start Beat", "start Tasks", "start L",
                            "stop L", "stop Tasks", "stop Beat", "stop A",
                            "shutdown L", "shutdown Tasks", "shutdown Beat", "shutdown A"])
    }

    @Test("the include condition reads the parent")
    func includeReadsParent() throws {
        let b = testBlueprint([bootStep("A"), bootStep("Beat", requires: ["A"], include: { $0.flags.contains("beat") })])
        let r = BlueprintRecorder()
        try b.apply(r)
        #expect(b.active.map(\.name) == ["A"])
    }

    @Test("an excluded step is still checked for unknown names and cycles")
    func excludedStillChecked() {
        let unknown = blueprintError { try testBlueprint([bootStep("A"), bootStep("Heart", requires: ["Evnts"], include: { _ in false })]).apply(BlueprintRecorder()) }
        #expect(unknown?.code == .unknownStep)
        #expect(unknown?.message.contains("\"Heart\"") == true && unknown?.message.contains("\"Evnts\"") == true)

        let r = BlueprintRecorder()
        let cycle = blueprintError {
            try testBlueprint([bootStep("A"), bootStep("X", requires: ["Y"], include: { _ in false }), bootStep("Y", requires: ["X"], include: { _ in false })]).apply(r)
        }
        #expect(cycle?.code == .cycle)
        #expect(r.calls.isEmpty)  // nothing was created
    }
}

// MARK: Errors in the graph

@Suite("Blueprint: unknown names, cycles, duplicates")
struct BlueprintGraphErrorTests {
    @Test("an unknown step name: .unknownStep naming both steps and the origin")
    func unknownStep() {
        let e = blueprintError {
            _ = try testBlueprint([bootStep("Pool"), bootStep("badstep.Polling", requires: ["Poll"], origin: "plugin badstep (badstep:badstep_poll)")]).order()
        }
        #expect(e?.code == .unknownStep)
        let m = e?.message ?? ""
        #expect(m.contains("\"badstep.Polling\""))
        #expect(m.contains("\"Poll\""))
        #expect(m.contains("plugin badstep (badstep:badstep_poll)"))
        #expect(m.hasPrefix("Test blueprint:"))
        #expect(e?.description.hasPrefix("PW301 unknown-step: ") == true)
    }

    @Test("a two-step cycle: A -> B -> A")
    func twoStepCycle() {
        let e = blueprintError { _ = try testBlueprint([bootStep("A", requires: ["B"]), bootStep("B", requires: ["A"])]).order() }
        #expect(e?.code == .cycle)
        #expect(e?.message.contains("A -> B -> A") == true, "\(e?.message ?? "")")
        #expect(e?.description.hasPrefix("PW302 dependency-cycle: ") == true)
    }

    @Test("a self-cycle: A -> A")
    func selfCycle() {
        let e = blueprintError { _ = try testBlueprint([bootStep("Z"), bootStep("A", requires: ["A"])]).order() }
        #expect(e?.code == .cycle)
        #expect(e?.message.hasSuffix(": A -> A") == true, "\(e?.message ?? "")")
    }

    /// A requires B, B requires C, C requires A, behind a free step and
    /// with a step hanging off the cycle.
    static func threeCycle() -> [BootStep<BlueprintRecorder>] {
        [bootStep("Free"), bootStep("A", requires: ["B"]), bootStep("B", requires: ["C"]),
         bootStep("C", requires: ["A"]), bootStep("D", requires: ["A"])]
    }

    @Test("a three-step cycle: .cycle showing the whole cycle, closed, without the steps off it")
    func threeStepCycle() throws {
        let e = try #require(blueprintError { _ = try testBlueprint(Self.threeCycle()).order() })
        #expect(e.code == .cycle)
        let shown = try #require(e.message.components(separatedBy: ": ").last).components(separatedBy: " -> ")
        #expect(shown.count == 4 && shown.first == shown.last, "\(e.message)")
        #expect(Set(shown) == ["A", "B", "C"])
    }

    @Test("a three-step cycle reads like the graph's arrows: A -> B means A requires B")
    func threeStepCycleDirection() throws {
        let e = try #require(blueprintError { _ = try testBlueprint(Self.threeCycle()).order() })
        #expect(e.message.hasSuffix(": A -> B -> C -> A"), "\(e.message)")
    }

    @Test("two steps with one name: .duplicateStep naming it")
    func duplicate() {
        let e = blueprintError { _ = try testBlueprint([bootStep("Pool"), bootStep("Hub"), bootStep("Pool", origin: "plugin dup (dup:dup_pool)")]).order() }
        #expect(e?.code == .duplicateStep)
        #expect(e?.message.contains("\"Pool\"") == true)
        #expect(e?.message.contains("plugin dup (dup:dup_pool)") == true)
    }
}

// MARK: Running

@Suite("Blueprint: start, stop, shutdown")
struct BlueprintRunTests {
    @Test("create and start in boot order, stop and shutdown in reverse")
    func startStopOrder() throws {
        let r = BlueprintRecorder()
        let b = testBlueprint([bootStep("C", requires: ["B"]), bootStep("A"), bootStep("B", requires: ["A"])])
        try b.apply(r)
        #expect(r.calls == ["create A", "create B", "create C"])
        try b.start(r)
        #expect(b.started.map(\.name) == ["A", "B", "C"])
        b.stop(r)
        #expect(b.started.isEmpty)
        b.shutdown(r)
        #expect(r.calls == ["create A", "create B", "create C", "start A", "start B", "start C",
                            "stop C", "stop B", "stop A", "shutdown C", "shutdown B", "shutdown A"])
        // Stopping again does nothing: nothing is started any more.
        b.stop(r)
        #expect(r.calls.count == 12)
    }

    @Test("steps without callbacks are fine")
    func noCallbacks() throws {
        let r = BlueprintRecorder()
        let b = testBlueprint([BootStep("Bare"), bootStep("A", requires: ["Bare"])])
        try b.apply(r)
        try b.start(r)
        b.stop(r)
        b.shutdown(r)
        #expect(r.calls == ["create A", "start A", "stop A", "shutdown A"])
    }

    @Test("a step that fails to start: the started ones stop in reverse, later ones never start, the error names it")
    func startFailure() throws {
        let r = BlueprintRecorder()
        let log = BlueprintLogStore()
        let b = testBlueprint([bootStep("A"), bootStep("B", requires: ["A"]), bootStep("C", requires: ["B"], origin: "plugin x (x:c)", failing: ["start"]),
                           bootStep("D", requires: ["C"]), bootStep("L", last: true)], log: log)
        try b.apply(r)
        r.calls.removeAll()
        let e = try #require(blueprintError { try b.start(r) })
        #expect(e.code == .stepFailed)
        #expect(e.message.contains("\"C\""))
        #expect(e.message.contains("plugin x (x:c)"))
        #expect(e.message.contains("failed to start"))
        #expect(e.message.contains("C start broke"))
        #expect(e.description.hasPrefix("PW304 step-failed: "))
        #expect(r.calls == ["start A", "start B", "start C", "stop B", "stop A"])
        #expect(b.started.isEmpty)
        #expect(log.messages(atLeast: .error).contains { $0.contains("C") && $0.contains("failed to start") })
    }

    @Test("the first step failing to start: nothing to stop")
    func firstStepFails() throws {
        let r = BlueprintRecorder()
        let b = testBlueprint([bootStep("A", failing: ["start"]), bootStep("B")])
        try b.apply(r)
        #expect(blueprintError { try b.start(r) }?.code == .stepFailed)
        #expect(r.calls == ["create A", "create B", "start A"])
    }

    @Test("a step that fails to create: .stepFailed naming it; later steps are not created, earlier ones shut down")
    func createFailure() throws {
        let r = BlueprintRecorder()
        let b = testBlueprint([bootStep("A"), bootStep("B", failing: ["create"]), bootStep("C")])
        let e = try #require(blueprintError { try b.apply(r) })
        #expect(e.code == .stepFailed)
        #expect(e.message.contains("\"B\"") && e.message.contains("failed to create"))
        #expect(r.calls == ["create A", "create B", "shutdown A"])  // what was created is shut down
    }

    @Test("a step that fails to stop is logged and the others still stop")
    func stopFailure() throws {
        let r = BlueprintRecorder()
        let log = BlueprintLogStore()
        let b = testBlueprint([bootStep("A"), bootStep("B", failing: ["stop"]), bootStep("C")], log: log)
        try b.apply(r)
        try b.start(r)
        r.calls.removeAll()
        b.stop(r)
        #expect(r.calls == ["stop C", "stop B", "stop A"])
        #expect(b.started.isEmpty)
        let errors = log.messages(atLeast: .error)
        #expect(errors.count == 1)
        #expect(errors.first?.contains("B") == true && errors.first?.contains("B stop broke") == true, "\(errors)")
    }

    @Test("shutdown runs in reverse; a failing shutdown is logged and the others still run")
    func shutdownFailure() throws {
        let r = BlueprintRecorder()
        let log = BlueprintLogStore()
        let b = testBlueprint([bootStep("A"), bootStep("B", failing: ["shutdown"]), bootStep("C")], log: log)
        try b.apply(r)
        try b.start(r)
        b.stop(r)
        r.calls.removeAll()
        b.shutdown(r)
        #expect(r.calls == ["shutdown C", "shutdown B", "shutdown A"])
        #expect(log.messages(atLeast: .error).contains { $0.contains("B shutdown broke") })
    }

    @Test("the debug log shows the boot order and each start and stop, as Celery's does")
    func debugLog() throws {
        let r = BlueprintRecorder()
        let log = BlueprintLogStore()
        let b = testBlueprint([bootStep("B", requires: ["A"]), bootStep("A")], log: log)
        try b.apply(r)
        try b.start(r)
        b.stop(r)
        let lines = log.messages(atLeast: .debug)
        #expect(lines == ["| Test: Boot order: A, B", "| Test: Starting A", "| Test: Starting B",
                          "| Test: Stopping B", "| Test: Stopping A"])
    }
}

// MARK: Rendering

/// The node ids a DOT text declares (`"id" [..]` lines) and the edges
/// (`"a" -> "b"`), read with a small tokenizer that honours quotes.
struct DOTReading {
    var declared: [String] = []
    var edges: [(String, String)] = []
    var balanced = true
    var clusters = 0

    init(_ dot: String) {
        var depth = 0
        for line in dot.split(separator: "\n", omittingEmptySubsequences: true) {
            var tokens: [String] = []
            var quotedTokens: Set<Int> = []
            var quoted: String?
            var bare = ""
            var inBrackets = 0
            var escaped = false
            for c in line {
                if var q = quoted {
                    if escaped {
                        q.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        if inBrackets == 0 {
                            quotedTokens.insert(tokens.count)
                            tokens.append(q)
                        }
                        quoted = nil
                        continue
                    } else {
                        q.append(c)
                    }
                    quoted = q
                    continue
                }
                switch c {
                case "\"": quoted = ""
                case "{": depth += 1
                case "}":
                    depth -= 1
                    if depth < 0 { balanced = false }
                case "[": inBrackets += 1
                case "]": inBrackets -= 1
                case " ", "\t":
                    if inBrackets == 0, !bare.isEmpty { tokens.append(bare); bare = "" }
                default:
                    if inBrackets == 0 { bare.append(c) }
                }
            }
            if !bare.isEmpty { tokens.append(bare) }
            if quoted != nil || inBrackets != 0 { balanced = false }
            if tokens.first == "subgraph", tokens.count > 1, tokens[1].hasPrefix("cluster_") { clusters += 1 }
            if tokens.count == 3, tokens[1] == "->" {
                edges.append((tokens[0], tokens[2]))
            } else if tokens.count == 1, quotedTokens.contains(0) {
                declared.append(tokens[0])
            }
        }
        if depth != 0 { balanced = false }
    }
}

@Suite("BlueprintGraph")
struct BlueprintGraphTests {
    static let plugin = "plugin audit (audit:audit_worker_step)"
    static let described: [BlueprintDescription] = [
        BlueprintDescription(name: "Worker", steps: [
            StepDescription(name: "Timer", requires: [], origin: "built-in", included: true, last: false),
            StepDescription(name: "Hub", requires: ["Timer"], origin: "built-in", included: true, last: false),
            StepDescription(name: "Pool", requires: ["Hub"], origin: "built-in", included: true, last: false),
            StepDescription(name: "Beat", requires: ["Pool"], origin: "built-in", included: false, last: false),
            StepDescription(name: "audit.WorkerStep", requires: ["Pool"], origin: plugin, included: true, last: false),
            StepDescription(name: "Consumer", requires: ["Pool"], origin: "built-in", included: true, last: true),
        ]),
        BlueprintDescription(name: "Consumer", steps: [
            StepDescription(name: "Connection", requires: [], origin: "built-in", included: true, last: false),
            StepDescription(name: "Mingle", requires: ["Connection"], origin: "built-in", included: false, last: false),
            StepDescription(name: "Tasks", requires: ["Mingle"], origin: "built-in", included: true, last: false),
            StepDescription(name: "we\"ird\\step", requires: ["Tasks"], origin: "plugin q (q:\"x\")", included: true, last: false),
            StepDescription(name: "Evloop", requires: [], origin: "built-in", included: true, last: true),
        ]),
    ]

    @Test("DOT: a digraph with balanced braces, a cluster per blueprint, every node of an edge declared")
    func dotSyntax() {
        let dot = BlueprintGraph.dot(Self.described)
        #expect(dot.hasPrefix("digraph bootsteps {\n"))
        #expect(dot.hasSuffix("}\n"))
        let read = DOTReading(dot)
        #expect(read.balanced)
        #expect(read.clusters == 2)
        #expect(read.declared.count == 11)
        #expect(Set(read.declared).count == read.declared.count)
        for (a, b) in read.edges {
            #expect(read.declared.contains(a), "edge from undeclared \(a)")
            #expect(read.declared.contains(b), "edge to undeclared \(b)")
        }
        // One edge per require, plus the one joining the blueprints.
        #expect(read.edges.count == 9)
        #expect(read.edges.contains { $0 == ("Worker:Hub", "Worker:Timer") })
        #expect(read.edges.contains { $0 == ("Consumer:Connection", "Worker:Consumer") })
        #expect(read.declared.contains("Consumer:we\"ird\\step"))
    }

    @Test("DOT: plugin steps filled blue, excluded ones dashed and '(not included)', last ones double")
    func dotStyles() throws {
        let lines = BlueprintGraph.dot(Self.described).split(separator: "\n").map(String.init)
        func node(_ id: String) throws -> String {
            try #require(lines.first { $0.drop(while: { $0 == " " }).hasPrefix("\"\(id)\" [") })
        }
        let plugin = try node("Worker:audit.WorkerStep")
        #expect(plugin.contains("style=\"filled,rounded\"") && plugin.contains("fillcolor=\"lightskyblue\""))
        #expect(plugin.contains("label=\"audit.WorkerStep\\n\(Self.plugin)\""))
        let beat = try node("Worker:Beat")
        #expect(beat.contains("style=\"dashed\"") && beat.contains("(not included)") && beat.contains("grey"))
        let pool = try node("Worker:Pool")
        #expect(pool.contains("style=\"filled\"") && !pool.contains("peripheries"))
        #expect(try node("Worker:Consumer").contains("peripheries=\"2\""))
        // An edge from or to an excluded step is dashed too.
        #expect(lines.contains { $0.contains("\"Worker:Beat\" -> \"Worker:Pool\"") && $0.contains("dashed") })
        #expect(lines.contains { $0.hasSuffix("\"Worker:Hub\" -> \"Worker:Timer\"") })
        // Quotes and backslashes are escaped.
        #expect(lines.contains { $0.contains("\"Consumer:we\\\"ird\\\\step\" [") })
    }

    @Test("DOT: a require naming no step still points at a declared (red) node")
    func dotUnknown() {
        let odd = [BlueprintDescription(name: "Worker", steps: [
            StepDescription(name: "A", requires: ["Poll"], origin: "built-in", included: true, last: false)])]
        let dot = BlueprintGraph.dot(odd)
        let read = DOTReading(dot)
        #expect(read.balanced)
        #expect(read.declared == ["Worker:A", "Worker:Poll"])
        #expect(read.edges.count == 1 && read.edges[0] == ("Worker:A", "Worker:Poll"))
        #expect(dot.contains("(unknown step)"))
    }

    @Test("text: per blueprint, the numbered boot order with requires and origin; excluded steps marked")
    func text() {
        let text = BlueprintGraph.text(Self.described)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Worker blueprint: 6 steps, 5 included; boot order (stopped in reverse):")
        let rows = lines.map { $0.split(separator: " ").map(String.init) }
        #expect(rows[1] == ["#", "step", "requires", "origin"])
        #expect(rows[2] == ["1", "Timer", "-", "built-in"])
        #expect(rows[3] == ["2", "Hub", "Timer", "built-in"])
        #expect(rows[4] == ["3", "Pool", "Hub", "built-in"])
        #expect(rows[5] == ["-", "Beat", "Pool", "built-in", "(not", "included)"])
        #expect(rows[6] == ["4", "audit.WorkerStep", "Pool", "plugin", "audit", "(audit:audit_worker_step)"])
        #expect(rows[7] == ["5", "Consumer", "Pool", "built-in", "(last)"])
        #expect(lines[8] == "")
        #expect(lines[9].hasPrefix("Consumer blueprint: 5 steps, 4 included;"))
        #expect(lines[9].contains("run by the Worker step Consumer"))
        #expect(rows[12] == ["-", "Mingle", "Connection", "built-in", "(not", "included)"])
        #expect(rows[15] == ["4", "Evloop", "-", "built-in", "(last)"])
        #expect(text.hasSuffix("(last)\n"))
        // Columns line up: every row's step starts at the same place.
        let column = lines[1].range(of: "step")!.lowerBound.utf16Offset(in: lines[1])
        for i in 2...7 { #expect(lines[i].dropFirst(column - 1).first == " " && lines[i].dropFirst(column).first != " ") }
    }

    @Test("render picks the format")
    func render() {
        #expect(BlueprintGraph.render(Self.described, format: .dot) == BlueprintGraph.dot(Self.described))
        #expect(BlueprintGraph.render(Self.described, format: .text) == BlueprintGraph.text(Self.described))
    }

    @Test("the built-in blueprints, described without plugins, render and parse")
    func builtIn() throws {
        let described = try Bootsteps.describe(options: WorkerOptions(), registry: Registry())
        #expect(described.map(\.name) == ["Worker", "Consumer"])
        #expect(described[0].steps.last?.name == "Consumer" && described[0].steps.last?.last == true)
        #expect(described[1].steps.last?.name == "Evloop")
        let read = DOTReading(BlueprintGraph.dot(described))
        #expect(read.balanced)
        #expect(read.declared.count == described.map(\.steps.count).reduce(0, +))
        for (a, b) in read.edges { #expect(read.declared.contains(a) && read.declared.contains(b)) }
        #expect(BlueprintGraph.text(described).contains("(not included)"))
    }
}
