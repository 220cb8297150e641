import PlugworkerCore

/// A token bucket, as Celery limits a task's rate (kombu's `TokenBucket`,
/// which Celery makes with capacity 1): tokens flow in at `rate` per second
/// up to `capacity`; a task may start when it can take one.
///
/// A value type with the clock passed in (`now`, seconds on any monotonic
/// clock), so tests need no sleeping. Starts full: the first `capacity`
/// tasks go at once, then one every `1/rate` seconds.
struct TokenBucket: Equatable {
    /// Tokens added per second (> 0).
    private(set) var rate: Double
    /// The most tokens the bucket holds: the burst allowed after a quiet spell.
    let capacity: Double
    /// Tokens available at `updatedAt`.
    private(set) var tokens: Double
    private(set) var updatedAt: Double
    static let tolerance = 1e-9

    init(rate: Double, capacity: Double = 1, now: Double) {
        precondition(rate > 0 && capacity > 0, "a token bucket needs a positive rate and capacity")
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updatedAt = now
    }

    /// Takes `n` tokens if there are that many; false (and nothing taken)
    /// otherwise.
    mutating func consume(_ n: Double = 1, now: Double) -> Bool {
        refill(now: now)
        // A timer set for `expectedTime` must find the token there, not
        // 0.99999999 of it: rounding is forgiven.
        guard tokens >= n - Self.tolerance else { return false }
        tokens = max(0, tokens - n)
        return true
    }

    /// Seconds from `now` until `n` tokens are available (0 if they are).
    func expectedTime(_ n: Double = 1, now: Double) -> Double {
        let available = level(now: now)
        return available >= n - Self.tolerance ? 0 : (n - available) / rate
    }

    /// A new rate from now on, keeping the tokens gathered so far.
    mutating func setRate(_ newRate: Double, now: Double) {
        precondition(newRate > 0)
        refill(now: now)
        rate = newRate
    }

    /// The tokens there would be at `now`.
    func level(now: Double) -> Double {
        min(capacity, tokens + max(0, now - updatedAt) * rate)
    }

    private mutating func refill(now: Double) {
        tokens = level(now: now)
        // A clock that steps back never takes tokens away.
        updatedAt = max(updatedAt, now)
    }
}

/// One rate-limited task's bucket and the requests waiting for its tokens,
/// in arrival order (Celery's `task_buckets[name]` with its `contents`).
/// Generic only so that tests can queue plain values.
///
/// Waiting requests are unacknowledged and, like ETA-held ones, raise the
/// prefetch count by one each (up to `--eta-limit`), so that a task over
/// its limit never takes the window that other tasks' messages need.
final class RateLimiter<Element> {
    var bucket: TokenBucket
    /// The limit as set (for `inspect registered`).
    var limit: RateLimit
    /// Requests waiting for a token: `waiting[head...]`.
    private(set) var waiting: [Element] = []
    private var head = 0
    /// The timer entry that wakes the queue when the next token is due.
    var wakeup: Timer.Entry?

    init(limit: RateLimit, now: Double) {
        self.limit = limit
        bucket = TokenBucket(rate: limit.perSecond, now: now)
    }

    /// A new limit from now on; the tokens gathered so far are kept.
    func change(to newLimit: RateLimit, now: Double) {
        limit = newLimit
        bucket.setRate(newLimit.perSecond, now: now)
    }

    var count: Int { waiting.count - head }
    var isEmpty: Bool { head == waiting.count }
    var requests: ArraySlice<Element> { waiting[head...] }

    func append(_ r: Element) { waiting.append(r) }

    /// The requests that may start now, oldest first, each having taken a
    /// token; the rest keep waiting in order.
    func admit(now: Double) -> [Element] {
        var out: [Element] = []
        while head < waiting.count, bucket.consume(now: now) {
            out.append(waiting[head])
            head += 1
        }
        compact()
        return out
    }

    /// Empties the queue (the limit was lifted, or the connection was lost).
    func removeAll() -> [Element] {
        let out = Array(waiting[head...])
        waiting.removeAll()
        head = 0
        wakeup?.cancel()
        wakeup = nil
        return out
    }

    private func compact() {
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 256 && head * 2 > waiting.count {
            waiting.removeFirst(head)
            head = 0
        }
    }
}
