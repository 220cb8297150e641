import Logging

/// A step of a blueprint (Celery's `bootsteps.Step` / `StartStopStep`): a
/// name, the steps it comes after, an include condition, and what to do at
/// create, start, stop and shutdown. `Parent` is what the blueprint runs
/// (the Worker, or the Consumer).
public final class BootStep<Parent: AnyObject> {
    public typealias Action = (Parent) throws -> Void

    /// Unique within the blueprint: `Pool`, `Tasks`, `audit.WorkerStep`.
    public let name: String
    /// Steps this one starts after (and stops before).
    public let requires: [String]
    /// Celery's `last = True`: runs after every other step (Consumer in the
    /// worker blueprint, Evloop in the consumer blueprint).
    public let last: Bool
    /// Where the step comes from, for the graph and the log: `built-in`,
    /// or `plugin audit (audit:audit_worker_step)`.
    public let origin: String
    /// Whether the options enable the step at all (Beat without `-B`, say,
    /// is not); known before the parent exists, so the graph can show it.
    public let enabled: Bool
    let include: (Parent) -> Bool
    let create: Action?
    let start: Action?
    let stop: Action?
    let shutdown: Action?

    public init(_ name: String, requires: [String] = [], last: Bool = false, origin: String = "built-in",
                enabled: Bool = true, include: @escaping (Parent) -> Bool = { _ in true },
                create: Action? = nil, start: Action? = nil, stop: Action? = nil, shutdown: Action? = nil) {
        self.name = name
        self.requires = requires
        self.last = last
        self.origin = origin
        self.enabled = enabled
        self.include = include
        self.create = create
        self.start = start
        self.stop = stop
        self.shutdown = shutdown
    }
}

/// Why a blueprint cannot boot. Stable codes; the message names the steps.
public struct BlueprintError: Error, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownStep = "PW301 unknown-step"
        case cycle = "PW302 dependency-cycle"
        case duplicateStep = "PW303 duplicate-step"
        case stepFailed = "PW304 step-failed"
    }

    public var code: Code
    public var message: String
    public var hint: String

    public var description: String { "\(code.rawValue): \(message) (hint: \(hint))" }
}

/// A set of steps with dependencies, started in dependency order and stopped
/// in reverse (Celery's `bootsteps.Blueprint`).
///
/// The order is computed once, from every step (included or not, so an
/// unknown name or a cycle is found whatever the flags): a topological sort
/// that keeps the declaration order among steps free to go, then the `last`
/// steps. Only included steps run. If a step fails to start, the steps
/// already started are stopped in reverse and the error names the step. An
/// error while stopping or shutting down a step is logged and the others
/// still stop.
public final class Blueprint<Parent: AnyObject> {
    public let name: String
    public let steps: [BootStep<Parent>]
    let logger: Logger
    /// Included steps, in boot order (after `create`).
    public private(set) var active: [BootStep<Parent>] = []
    /// Steps started so far, in start order.
    public private(set) var started: [BootStep<Parent>] = []

    public init(name: String, steps: [BootStep<Parent>], logger: Logger) {
        self.name = name
        self.steps = steps
        self.logger = logger
    }

    /// Every step in boot order.
    /// - Throws: `BlueprintError` for a duplicate or unknown name, or a cycle.
    public func order() throws(BlueprintError) -> [BootStep<Parent>] {
        var byName: [String: BootStep<Parent>] = [:]
        for s in steps {
            if let other = byName[s.name] {
                throw BlueprintError(code: .duplicateStep,
                                     message: "\(name) blueprint: two steps are named \"\(s.name)\": one \(other.origin), one \(s.origin)",
                                     hint: "rename one of them")
            }
            byName[s.name] = s
        }
        for s in steps {
            for r in s.requires where byName[r] == nil {
                throw BlueprintError(code: .unknownStep,
                                     message: "\(name) blueprint: step \"\(s.name)\" (\(s.origin)) requires \"\(r)\", which is not a step of it (steps: \(steps.map(\.name).joined(separator: ", ")))",
                                     hint: "fix the name in the step's requires, or load the plugin that provides \"\(r)\"")
            }
        }
        if let cycle = findCycle(byName) {
            throw BlueprintError(code: .cycle, message: "\(name) blueprint: steps require each other in a cycle: \(cycle.joined(separator: " -> "))",
                                 hint: "remove one of these requires")
        }
        // Kahn's algorithm, choosing among the free steps in declaration
        // order: first the ordinary steps, then the `last` ones (with any
        // ordinary step that requires one of them). No cycles, so it ends.
        var placed = Set<String>()
        var result: [BootStep<Parent>] = []
        func place(_ group: [BootStep<Parent>]) -> [BootStep<Parent>] {
            var remaining = group
            while let i = remaining.firstIndex(where: { $0.requires.allSatisfy(placed.contains) }) {
                let s = remaining.remove(at: i)
                placed.insert(s.name)
                result.append(s)
            }
            return remaining
        }
        let stuck = place(steps.filter { !$0.last })
        _ = place(steps.filter(\.last) + stuck)
        return result
    }

    func findCycle(_ byName: [String: BootStep<Parent>]) -> [String]? {
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var path: [String] = []
        func visit(_ n: String) -> [String]? {
            if state[n] == 2 { return nil }
            if state[n] == 1, let start = path.firstIndex(of: n) { return Array(path[start...]) + [n] }
            state[n] = 1
            path.append(n)
            for r in byName[n]?.requires ?? [] {
                if let c = visit(r) { return c }
            }
            path.removeLast()
            state[n] = 2
            return nil
        }
        for s in steps {
            if let c = visit(s.name) { return c }
        }
        return nil
    }

    /// Orders the steps, keeps the included ones and runs their `create`.
    public func apply(_ parent: Parent) throws(BlueprintError) {
        let included = try order().filter { $0.enabled && $0.include(parent) }
        logger.debug("| \(name): Boot order: \(included.map(\.name).joined(separator: ", "))")
        active = []
        for s in included {
            do {
                try s.create?(parent)
                active.append(s)
            } catch {
                shutdown(parent)  // the steps created so far, in reverse
                throw BlueprintError(code: .stepFailed, message: "\(name) blueprint: step \"\(s.name)\" (\(s.origin)) failed to create: \(error)",
                                     hint: "see the step's own error above")
            }
        }
    }

    /// Starts the included steps in order. On a failure, stops the ones
    /// already started, in reverse, then throws naming the step.
    public func start(_ parent: Parent) throws(BlueprintError) {
        for s in active {
            logger.debug("| \(name): Starting \(s.name)")
            do {
                try s.start?(parent)
                started.append(s)
            } catch {
                logger.error("\(name): step \(s.name) failed to start: \(error); stopping the steps already started")
                stop(parent)
                throw BlueprintError(code: .stepFailed, message: "\(name) blueprint: step \"\(s.name)\" (\(s.origin)) failed to start: \(error)",
                                     hint: "see the step's own error above")
            }
        }
    }

    /// Stops the started steps in reverse order; errors are logged and the
    /// other steps still stop.
    public func stop(_ parent: Parent) {
        for s in started.reversed() {
            logger.debug("| \(name): Stopping \(s.name)")
            do {
                try s.stop?(parent)
            } catch {
                logger.error("\(name): error while stopping step \(s.name): \(error)")
            }
        }
        started.removeAll()
    }

    /// Runs `shutdown` of every included step in reverse order (after
    /// `stop`); errors are logged and the others still run.
    public func shutdown(_ parent: Parent) {
        for s in active.reversed() {
            do {
                try s.shutdown?(parent)
            } catch {
                logger.error("\(name): error while shutting down step \(s.name): \(error)")
            }
        }
    }
}
