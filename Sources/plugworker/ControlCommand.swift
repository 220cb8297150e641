import ArgumentParser
import PlugworkerWorker

/// `plugworker control COMMAND [ARGS...]`: tell the workers to act
/// (`celery control`).
struct ControlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Tell running workers to act (as celery control).",
        discussion: """
            Prints each node's reply as it arrives. Exit status: 0 when at least one node
            replied; 69 when none replied within --timeout (shutdown is never answered) or
            the broker cannot be reached; 64 for an unknown command or bad arguments.

            Examples:
              plugworker control rate_limit tasks.add 10/m
              plugworker control terminate SIGKILL 8d8b0d4d-f90e-4640-92ee-a02bbb2b8833
              plugworker control add_consumer extra -d w1@host

            Commands:
            \(ControlCommandSpec.helpList(.control))
            """
    )

    @Argument(help: "The command, e.g. rate_limit, revoke, pool_grow, add_consumer, shutdown.")
    var command: String

    @Argument(help: "The command's arguments (see the list below).")
    var arguments: [String] = []

    @OptionGroup var remote: RemoteControlOptions

    func run() throws {
        try RemoteControlRun(kind: .control, command: command, words: arguments, options: remote).run()
    }
}
