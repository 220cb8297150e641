import Testing
@testable import PlugworkerCore

/// Retry backoff (Celery's retry_backoff / retry_backoff_max / retry_jitter)
/// and the ABI 1.1 task options, through the `semantics` fixture plugin.
@Suite("Retry backoff and ABI 1.1 task options")
struct RetryBackoffTests {
    @Test("without jitter: factor × 2^retries, capped")
    func exponential() {
        let b = RetryBackoff(factor: 1, maximum: 600, jitter: false)
        #expect((0...6).map { b.countdown(retries: $0, random: 0.5) } == [1, 2, 4, 8, 16, 32, 64])
        #expect(b.countdown(retries: 9, random: 0.5) == 512)
        #expect(b.countdown(retries: 10, random: 0.5) == 600)
        #expect(b.countdown(retries: Int64.max, random: 0.5) == 600)
        #expect(RetryBackoff(factor: 0.25, maximum: 1, jitter: false).countdown(retries: 1, random: 0) == 0.5)
    }

    @Test("full jitter: uniform in [0, the capped delay], driven by the random value")
    func jitter() {
        let b = RetryBackoff(factor: 2, maximum: 10)
        #expect(b.countdown(retries: 1, random: 0) == 0)
        #expect(b.countdown(retries: 1, random: 0.5) == 2)
        #expect(b.countdown(retries: 5, random: 0.999) <= 10)
        #expect(b.countdown(retries: 5, random: 2) == 10)  // clamped to the cap
        var seen = Set<Int>()
        for _ in 0..<200 {
            let d = b.countdown(retries: 3)
            #expect(d >= 0 && d <= 10)
            seen.insert(Int(d))
        }
        #expect(seen.count > 3, "the jitter spreads the delays")
    }

    @Test("never negative, NaN or infinite")
    func bounded() {
        for r in [Int64.min, -1, 0, 1, 63, 64, 1023, 1024, Int64.max] {
            let d = RetryBackoff(factor: 1e300, maximum: 5, jitter: false).countdown(retries: r, random: 1)
            #expect(d.isFinite && d >= 0 && d <= 5)
        }
    }

    static let registry: Registry = {
        let loader = Fixtures.loader()
        _ = loader.loadDirectories()
        return loader.registry
    }()

    static func task(_ name: String) -> NativeTask {
        guard let t = registry.task(named: name) else { fatalError("\(name) not registered") }
        return t
    }

    @Test("the 1.1 options are read from the descriptor")
    func options() {
        let backoff = Self.task("semantics.backoff").options
        #expect(backoff.retryBackoff == RetryBackoff(factor: 0.2, maximum: 0.5, jitter: false))
        #expect(backoff.maxRetries == 5)
        #expect(Self.task("semantics.fail_late").options.acksOnFailureOrTimeout == false)
        #expect(Self.task("semantics.fail_late").options.acksLate == true)
        #expect(Self.task("semantics.late_sleep").options.rejectOnWorkerLost == true)
        #expect(Self.task("semantics.limited").options.rateLimit?.perSecond == 10)
        #expect(Self.task("semantics.backoff").options.summary.contains { $0 == ("retry_backoff", "0.2") })
    }

    @Test("a descriptor of the 1.0 size gets the 1.1 defaults, whatever lies past its size")
    func oldABI() {
        let o = Self.task("semantics.old_abi").options
        #expect(o.acksOnFailureOrTimeout == nil)
        #expect(o.retryBackoff == nil)
        #expect(Self.task("semantics.old_abi").call("[7]").resultText == "7")
    }

    @Test("a retry without countdown waits the backoff; past max_retries it fails")
    func backoffRetries() {
        let t = Self.task("semantics.backoff")
        #expect(t.call("[9]", retries: 0) == .retry(countdown: 0.2, reason: "backoff"))
        #expect(t.call("[9]", retries: 1) == .retry(countdown: 0.4, reason: "backoff"))
        #expect(t.call("[9]", retries: 2) == .retry(countdown: 0.5, reason: "backoff"))
        #expect(t.call("[9]", retries: 5).exception?.type == "MaxRetriesExceededError")
        #expect(t.call("[2]", retries: 2).resultText == "2")
    }

    @Test("a task without backoff still waits default_retry_delay")
    func defaultDelay() {
        #expect(Fixtures.examples().registry.task(named: "arith.flaky")?.options.retryBackoff == nil)
    }
}
