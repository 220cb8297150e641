import PlugworkerCore

/// Turns a plugin's step descriptor into a bootstep of either blueprint.
///
/// The plugin's callbacks run through a `StepInstance` (what `pw_step *`
/// points at) created at `create`; a non-zero status from create or start
/// fails the boot, one from stop or shutdown is logged by the blueprint.
enum PluginSteps {
    struct Failed: Error, CustomStringConvertible {
        var step: String
        var phase: String
        var status: Int32
        var description: String { "plugin step \(step): \(phase) returned \(status)" }
    }

    final class Box {
        var instance: StepInstance?
    }

    /// - Parameters:
    ///   - started: runs after the plugin's `start` succeeded (the consumer
    ///     uses it to consume a consumer step's queues).
    ///   - stopping: runs before the plugin's `stop`.
    static func step<P: AnyObject>(_ def: StepDefinition, hostname: String,
                                   started: ((P, StepInstance) throws -> Void)? = nil,
                                   stopping: ((P, StepInstance) -> Void)? = nil) -> BootStep<P> {
        let box = Box()
        func run(_ phase: StepInstance.State, _ name: String) throws {
            guard let instance = box.instance else { return }
            let status = instance.run(phase)
            if status != 0 { throw Failed(step: def.name, phase: name, status: status) }
        }
        return BootStep<P>(
            def.name, requires: def.requires, origin: "plugin \(def.module) (\(def.symbol))",
            create: { _ in
                box.instance = StepInstance(definition: def, hostname: hostname)
                try run(.created, "create")
            },
            start: { parent in
                try run(.started, "start")
                if let started, let instance = box.instance { try started(parent, instance) }
            },
            stop: { parent in
                if let stopping, let instance = box.instance { stopping(parent, instance) }
                try run(.stopped, "stop")
            },
            shutdown: { _ in try run(.shutDown, "shutdown") })
    }
}
