import Logging
import PlugworkerCore

/// One step as `plugworker graph bootsteps` shows it.
public struct StepDescription: Sendable, Equatable {
    public var name: String
    public var requires: [String]
    /// `built-in`, or `plugin audit (audit:audit_worker_step)`.
    public var origin: String
    /// False when its include condition leaves it out (e.g. Beat without -B).
    public var included: Bool
    public var last: Bool
}

/// A blueprint in boot order.
public struct BlueprintDescription: Sendable, Equatable {
    /// `Worker` or `Consumer`.
    public var name: String
    public var steps: [StepDescription]
}

/// The worker's two blueprints, as data.
public enum Bootsteps {
    /// Both blueprints (worker first), in boot order, for these options and
    /// the plugins' steps in `registry`.
    /// - Throws: `BlueprintError` for an unknown step name or a cycle.
    public static func describe(options: WorkerOptions, registry: Registry) throws(BlueprintError) -> [BlueprintDescription] {
        let logger = Logger(label: "plugworker.bootsteps")
        let worker = Blueprint<Worker>(name: "Worker", steps: Worker.steps(options: options, registry: registry), logger: logger)
        let consumer = Blueprint<Consumer>(name: "Consumer", steps: Consumer.steps(options: options, registry: registry), logger: logger)
        func describe<P>(_ b: Blueprint<P>) throws(BlueprintError) -> BlueprintDescription {
            BlueprintDescription(name: b.name, steps: try b.order().map {
                StepDescription(name: $0.name, requires: $0.requires, origin: $0.origin, included: $0.enabled, last: $0.last)
            })
        }
        return [try describe(worker), try describe(consumer)]
    }
}
