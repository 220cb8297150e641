#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import PlugworkerPool

@Suite struct ProcessExitStatusTests {
    @Test("waitpid statuses decode as the C macros would")
    func decode() {
        #expect(ProcessExitStatus(waitStatus: 0) == .exited(code: 0))
        #expect(ProcessExitStatus(waitStatus: 3 << 8) == .exited(code: 3))
        #expect(ProcessExitStatus(waitStatus: 11) == .signaled(signal: 11, coreDumped: false))
        #expect(ProcessExitStatus(waitStatus: 0x80 | 6) == .signaled(signal: 6, coreDumped: true))
    }

    @Test("descriptions read like gunicorn's and billiard's")
    func text() {
        #expect(ProcessExitStatus.signaled(signal: SIGKILL, coreDumped: false).description
            == "exited on signal 9 (SIGKILL) — perhaps out of memory?")
        #expect(ProcessExitStatus.signaled(signal: SIGSEGV, coreDumped: true).description
            == "exited on signal 11 (SIGSEGV) (core dumped)")
        #expect(ProcessExitStatus.signaled(signal: SIGKILL, coreDumped: false).description(sentByMaster: true)
            == "exited on signal 9 (SIGKILL), sent by the master")
        #expect(ProcessExitStatus.exited(code: 1).description == "exited with code 1")
        #expect(ProcessExitStatus.signaled(signal: SIGSEGV, coreDumped: false).humanStatus == "signal 11 (SIGSEGV)")
        #expect(ProcessExitStatus.exited(code: 1).humanStatus == "exitcode 1")
        #expect(ProcessExitStatus.signalName(SIGABRT) == "SIGABRT")
        #expect(ProcessExitStatus.signalName(__libc_current_sigrtmin() + 2) == "SIGRTMIN+2")
        #expect(ProcessExitStatus.signalName(0) == nil)
    }
}
