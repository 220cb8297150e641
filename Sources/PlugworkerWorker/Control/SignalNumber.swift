#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCelery
import PlugworkerCore

/// Signal names as `revoke(terminate=True, signal=…)` and `terminate` send
/// them, read as Celery's `signals.signum` does: an integer as is, else an
/// upper-case name with or without the `SIG` prefix (`"SIGKILL"`, `"TERM"`).
public enum SignalNumber {
    /// The signals a task may be terminated with, by name.
    public static let names: [(String, Int32)] = [
        ("SIGHUP", SIGHUP), ("SIGINT", SIGINT), ("SIGQUIT", SIGQUIT), ("SIGILL", SIGILL), ("SIGTRAP", SIGTRAP),
        ("SIGABRT", SIGABRT), ("SIGIOT", SIGABRT), ("SIGBUS", SIGBUS), ("SIGFPE", SIGFPE), ("SIGKILL", SIGKILL),
        ("SIGUSR1", SIGUSR1), ("SIGSEGV", SIGSEGV), ("SIGUSR2", SIGUSR2), ("SIGPIPE", SIGPIPE),
        ("SIGALRM", SIGALRM), ("SIGTERM", SIGTERM), ("SIGCHLD", SIGCHLD), ("SIGCONT", SIGCONT),
        ("SIGSTOP", SIGSTOP), ("SIGTSTP", SIGTSTP), ("SIGTTIN", SIGTTIN), ("SIGTTOU", SIGTTOU), ("SIGURG", SIGURG),
        ("SIGXCPU", SIGXCPU), ("SIGXFSZ", SIGXFSZ), ("SIGVTALRM", SIGVTALRM), ("SIGPROF", SIGPROF),
        ("SIGWINCH", SIGWINCH), ("SIGIO", SIGIO), ("SIGSYS", SIGSYS),
    ]

    /// The signal number for a request's `signal` argument; null or absent
    /// means SIGTERM.
    /// - Throws: `ControlError` with the text Python's reply would carry
    ///   (`TypeError('signal name must be uppercase string.')`,
    ///   `AttributeError("module 'signal' has no attribute 'SIGFOO'")`).
    public static func parse(_ value: JSON?) throws(ControlError) -> Int32 {
        switch value {
        case nil, .null?:
            return SIGTERM
        case .int(let n)?:
            guard let s = Int32(exactly: n), s > 0, s < 65 else { throw ControlError("ValueError('invalid signal number \(n)')") }
            return s
        case .string(let text)?:
            if let n = Int32(text), n > 0, n < 65 { return n }
            guard !text.isEmpty, text == text.uppercased() else {
                throw ControlError("TypeError('signal name must be uppercase string.')")
            }
            let name = text.hasPrefix("SIG") ? text : "SIG" + text
            if let hit = names.first(where: { $0.0 == name }) { return hit.1 }
            throw ControlError("AttributeError(" + PythonRepr.string("module 'signal' has no attribute '\(name)'") + ")")
        case .some:
            throw ControlError("TypeError('signal name must be uppercase string.')")
        }
    }
}
