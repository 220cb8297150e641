import ArgumentParser

/// The exit codes plugworker commands use (sysexits-style where one fits).
enum ExitStatus {
    /// A task failed, or `check` found a plugin it refuses.
    static let failure = ExitCode(1)
    /// Bad command-line usage.
    static let usage = ExitCode(64)
    /// A plugin or configuration error prevented the command from running.
    static let config = ExitCode(78)
}
