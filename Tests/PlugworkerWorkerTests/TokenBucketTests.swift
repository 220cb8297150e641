import Testing
@testable import PlugworkerCore
@testable import PlugworkerWorker

/// The token bucket of rate-limited tasks, on an injected clock.
@Suite("Token bucket and rate limiter")
struct TokenBucketTests {
    @Test("starts full: one at once, then one every 1/rate seconds")
    func spacing() {
        var b = TokenBucket(rate: 10, now: 100)
        let ok1 = b.consume(now: 100)
        #expect(ok1)
        let ok2 = b.consume(now: 100)
        #expect(!ok2)
        #expect(abs(b.expectedTime(now: 100) - 0.1) < 1e-9)
        let ok3 = b.consume(now: 100.05)
        #expect(!ok3)
        #expect(abs(b.expectedTime(now: 100.05) - 0.05) < 1e-9)
        let ok4 = b.consume(now: 100.1)
        #expect(ok4)
        #expect(b.expectedTime(now: 100.3) == 0)
    }

    @Test("a quiet spell allows at most `capacity` at once")
    func burst() {
        var b = TokenBucket(rate: 1, capacity: 3, now: 0)
        for _ in 0..<3 {
            let ok = b.consume(now: 0)
            #expect(ok)
        }
        let ok5 = b.consume(now: 0)
        #expect(!ok5)
        // An hour later: still only three.
        var n = 0
        while b.consume(now: 3600) { n += 1 }
        #expect(n == 3)
    }

    @Test("over a window, no more than rate × seconds + capacity")
    func window() {
        var b = TokenBucket(rate: 10, now: 0)
        var taken = 0
        var t = 0.0
        while t <= 2.0 {
            if b.consume(now: t) { taken += 1 }
            t += 0.001
        }
        #expect(taken >= 20 && taken <= 21)
    }

    @Test("a changed rate keeps what was gathered; a clock stepping back takes nothing")
    func setRate() {
        var b = TokenBucket(rate: 1, now: 0)
        let ok6 = b.consume(now: 0)
        #expect(ok6)
        b.setRate(100, now: 0.5)  // 0.5 token gathered at the old rate
        #expect(abs(b.expectedTime(now: 0.5) - 0.005) < 1e-9)
        let ok7 = b.consume(now: 0.4)
        #expect(!ok7)
        let ok8 = b.consume(now: 0.51)
        #expect(ok8)
    }

    @Test("the limiter admits in arrival order as tokens come")
    func limiter() throws {
        let limiter = RateLimiter<Int>(limit: try #require(try RateLimit(parsing: "2/s")), now: 0)
        for r in 0..<4 { limiter.append(r) }
        let a0 = limiter.admit(now: 0)
        #expect(a0 == [0] && limiter.count == 3)
        let a1 = limiter.admit(now: 0.2)
        #expect(a1.isEmpty)
        #expect(abs(limiter.bucket.expectedTime(now: 0.2) - 0.3) < 1e-9)
        let a2 = limiter.admit(now: 0.5), a3 = limiter.admit(now: 1.0)
        #expect(a2 == [1] && a3 == [2])
        #expect(Array(limiter.requests) == [3])
        let rest = limiter.removeAll()
        #expect(rest == [3])
        #expect(limiter.isEmpty)
    }
}

@Suite("Prefetch window and --eta-limit")
struct PrefetchWindowTests {
    @Test("each held message raises the count by one, up to the limit")
    func bounded() {
        var w = PrefetchWindow(base: 8, holdLimit: 3)
        #expect(w.count == 8)
        let first = w.hold(), second = w.hold(), third = w.hold()
        #expect(!first && !second)
        #expect(third, "the third reaches the limit")
        #expect(w.count == 11 && w.isSaturated)
        for _ in 0..<5 { w.hold() }
        #expect(w.held == 8 && w.count == 11, "past the limit the window does not grow")
        w.release(5)
        #expect(w.count == 11)
        w.release()
        #expect(w.held == 2 && w.count == 10 && !w.isSaturated)
        w.release(10)
        #expect(w.held == 0 && w.count == 8)
    }

    @Test("reaching the limit is news once, again only after falling to half")
    func reported() {
        var w = PrefetchWindow(base: 2, holdLimit: 4)
        var news: [Bool] = []
        for _ in 0..<4 { news.append(w.hold()) }
        #expect(news == [false, false, false, true])
        w.release()                       // 3: near the limit
        let again = w.hold()              // 4 again: not news
        #expect(!again)
        w.release(2)                      // 2: half
        w.hold(); let back = w.hold()     // 4: news again
        #expect(back)
    }

    @Test("basic.qos only when the count changed since the last one sent")
    func lazy() {
        var w = PrefetchWindow(base: 4, holdLimit: 10)
        w.didApply(4)
        let none = w.pendingUpdate()
        #expect(none == nil)
        w.hold(); w.hold(); w.release()
        let five = w.pendingUpdate(), again = w.pendingUpdate()
        #expect(five == 5 && again == nil)
        w.hold(); w.release()
        let unchanged = w.pendingUpdate()
        #expect(unchanged == nil, "a hold and release in one turn cost nothing")
        w.reset()
        let fresh = w.pendingUpdate()
        #expect(w.held == 0 && fresh == 4)
    }

    @Test("prefetch 0 (no limit) stays 0")
    func unlimited() {
        var w = PrefetchWindow(base: 0, holdLimit: 5)
        w.hold()
        #expect(w.count == 0)
    }

    @Test("queue arguments: --queue-argument, then max priority and type; quorum detection")
    func queueArguments() {
        var o = WorkerOptions()
        o.queues = ["a", "b"]
        o.queueMaxPriority = 10
        o.queueArguments = ["a": JSONObject([.init("x-dead-letter-exchange", "dlx"), .init("x-max-priority", 5)])]
        #expect(o.declarationArguments(for: "a") == JSONObject([.init("x-dead-letter-exchange", "dlx"), .init("x-max-priority", 5)]))
        #expect(o.declarationArguments(for: "b") == JSONObject([.init("x-max-priority", 10)]))
        #expect(!o.hasQuorumQueues)
        o.queueType = "quorum"
        #expect(o.declarationArguments(for: "b")["x-queue-type"] == "quorum")
        #expect(o.hasQuorumQueues)
        o.queueType = "classic"
        #expect(o.declarationArguments(for: "b")["x-queue-type"] == nil)
    }
}
