import Testing
@testable import PlugworkerWorker

@Suite("Token bucket (rate limits)")
struct TokenBucketTests {
    @Test("2/s: one at once, then one every half second")
    func twoPerSecond() {
        var b = TokenBucket(fillRate: 2, now: 100)
        var took = b.canConsume(now: 100)
        #expect(took)
        took = b.canConsume(now: 100)
        #expect(!took)
        var wait = b.expectedTime(now: 100)
        #expect(abs(wait - 0.5) < 1e-9)
        wait = b.expectedTime(now: 100.2)
        #expect(abs(wait - 0.3) < 1e-9)
        took = b.canConsume(now: 100.4)
        #expect(!took)
        took = b.canConsume(now: 100.5)
        #expect(took)
        took = b.canConsume(now: 100.5)
        #expect(!took)
    }

    @Test("never holds more than its capacity")
    func capacity() {
        var b = TokenBucket(fillRate: 10, now: 0)
        var took = b.canConsume(now: 0)
        #expect(took)
        took = b.canConsume(now: 60)  // a minute idle still gives one token
        #expect(took)
        took = b.canConsume(now: 60)
        #expect(!took)
        let wait = b.expectedTime(now: 60.1)
        #expect(wait == 0)
    }
}
