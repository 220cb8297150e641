#if canImport(Glibc)
import Glibc
#endif

/// How a process ended, decoded from a `waitpid` status.
public enum ProcessExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// It called `exit`/`_exit` with `code`.
    case exited(code: Int32)
    /// A signal killed it.
    case signaled(signal: Int32, coreDumped: Bool)

    /// Decodes a raw `waitpid` status (the `WIFEXITED`/`WTERMSIG` macros,
    /// which Swift cannot import).
    public init(waitStatus s: Int32) {
        let sig = s & 0x7F
        if sig == 0 {
            self = .exited(code: (s >> 8) & 0xFF)
        } else {
            self = .signaled(signal: sig, coreDumped: s & 0x80 != 0)
        }
    }

    /// The signal that killed the process, if one did.
    public var signal: Int32? {
        if case .signaled(let sig, _) = self { return sig }
        return nil
    }

    /// billiard's `human_status`: `exitcode 1`, `signal 11 (SIGSEGV)`, as in
    /// "Worker exited prematurely: signal 11 (SIGSEGV) Job: 3.".
    public var humanStatus: String {
        switch self {
        case .exited(let code): return "exitcode \(code)"
        case .signaled(let sig, _): return Self.signalText(sig)
        }
    }

    /// What an operator reads in the log, in the manner of gunicorn's arbiter:
    /// `exited with code 1`, `exited on signal 11 (SIGSEGV) (core dumped)`,
    /// `exited on signal 9 (SIGKILL) — perhaps out of memory?`.
    public var description: String { description(sentByMaster: false) }

    /// As `description`; for a signal the master sent itself (a hard time
    /// limit, a cold shutdown) it says so instead of guessing at the cause:
    /// `exited on signal 9 (SIGKILL), sent by the master`.
    public func description(sentByMaster: Bool) -> String {
        switch self {
        case .exited(let code):
            return "exited with code \(code)"
        case .signaled(let sig, let core):
            var text = "exited on \(Self.signalText(sig))"
            if core { text += " (core dumped)" }
            if sentByMaster {
                text += ", sent by the master"
            } else if sig == SIGKILL {
                text += " — perhaps out of memory?"
            }
            return text
        }
    }

    /// `11 (SIGSEGV)`-style text for a signal number: `signal 11 (SIGSEGV)`.
    static func signalText(_ sig: Int32) -> String {
        if let name = signalName(sig) { return "signal \(sig) (\(name))" }
        return "signal \(sig)"
    }

    /// The name of a Linux signal, e.g. `SIGSEGV` for 11.
    public static func signalName(_ sig: Int32) -> String? {
        if sig >= 1 && Int(sig) < names.count { return names[Int(sig)] }
        let rtmin = __libc_current_sigrtmin(), rtmax = __libc_current_sigrtmax()
        if sig >= rtmin && sig <= rtmax { return sig == rtmin ? "SIGRTMIN" : "SIGRTMIN+\(sig - rtmin)" }
        return nil
    }

    /// Linux's numbering (x86-64 and arm64 share it).
    static let names: [String] = [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]
}
