#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Testing

/// The pool process's soft-time-limit timer. Only the timer and its handler
/// are exercised here (no fork in the test process): SIGALRM from
/// `setitimer` sets the flag that `ctx_soft_time_limit_exceeded` reads.
@Suite(.serialized) struct SoftTimeLimitTests {
    func waitForFlag(_ seconds: Double) -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if pws_soft_limit_flag() != 0 { return true }
            usleep(10_000)
        }
        return pws_soft_limit_flag() != 0
    }

    @Test("an armed timer sets the flag; a disarmed one does not")
    func timer() {
        #expect(pws_install_soft_limit_handler() == 0)
        pws_set_soft_limit_flag(0)
        #expect(pws_arm_soft_limit_timer(0.05) == 0)
        #expect(waitForFlag(5))
        pws_set_soft_limit_flag(0)

        #expect(pws_arm_soft_limit_timer(0.2) == 0)
        #expect(pws_arm_soft_limit_timer(0) == 0)
        #expect(!waitForFlag(0.4))
    }
}
