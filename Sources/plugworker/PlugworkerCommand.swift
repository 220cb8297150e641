import ArgumentParser

/// `plugworker`: a Celery worker whose tasks are native code.
@main
struct PlugworkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugworker",
        abstract: "A Celery worker whose tasks are C-ABI functions in shared libraries.",
        discussion: """
            Plugins are shared libraries built against plugworker.h; tasks are named
            module:Symbol and called through libffi with Celery's JSON arguments.
            """,
        subcommands: [WorkerCommand.self, CallCommand.self, CheckCommand.self, ApplyCommand.self, GraphCommand.self,
                      InspectCommand.self, ControlCommand.self, BeatCommand.self],
        defaultSubcommand: WorkerCommand.self
    )
}
