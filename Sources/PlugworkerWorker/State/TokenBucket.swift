/// A task's rate limit as Celery enforces it: kombu's `TokenBucket` with
/// `capacity` 1, refilled at the rate's tasks per second. A request may
/// start when a whole token is there; otherwise it waits
/// `expectedTime(now:)` seconds.
struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second (the rate limit's tasks per second).
    let fillRate: Double
    let capacity: Double
    private(set) var tokens: Double
    private var last: Double

    /// A full bucket at `now` (monotonic seconds).
    init(fillRate: Double, capacity: Double = 1, now: Double) {
        self.fillRate = fillRate
        self.capacity = capacity
        self.tokens = capacity
        self.last = now
    }

    private mutating func refill(now: Double) {
        if now > last {
            tokens = min(capacity, tokens + (now - last) * fillRate)
            last = now
        }
    }

    /// Takes `n` tokens if there are that many.
    mutating func canConsume(_ n: Double = 1, now: Double) -> Bool {
        refill(now: now)
        guard tokens >= n else { return false }
        tokens -= n
        return true
    }

    /// Seconds until `n` tokens are there (0 if they are).
    mutating func expectedTime(_ n: Double = 1, now: Double) -> Double {
        refill(now: now)
        guard tokens < n, fillRate > 0 else { return 0 }
        return (n - tokens) / fillRate
    }
}
