/// When to grow and shrink the pool with `--autoscale max,min`: Celery's
/// `Autoscaler` (`celery/worker/autoscale.py`) as a pure value, so that its
/// decisions can be tested with any clock. The worker asks it on a Timer
/// and when tasks are waiting, and applies what it returns to the `Pool`.
///
/// - Grow: to `min(qty, max)` processes as soon as that is more than there
///   are. `qty` is Celery's `len(state.reserved_requests)`: the tasks
///   received and not finished (waiting for a process, or running); ETA
///   tasks count once due.
/// - Shrink: to `max(qty, min)` once the pool has been inactive for
///   `keepalive` seconds (Celery's `AUTOSCALE_KEEPALIVE`, 30 s), where
///   active means it scaled up, or it had tasks (Celery: received one).
///   Shrinking retires idle processes first (see `Pool.shrink`).
/// Unlike Celery it counts from its creation, not only from a first scale
/// up, so a pool left above `min` (by a smaller `min` set at run time)
/// also shrinks.
public struct Autoscaler: Sendable, Equatable {
    /// What to do with the pool.
    public enum Decision: Sendable, Equatable {
        case none
        case grow(Int)
        case shrink(Int)
    }

    /// Celery's `AUTOSCALE_KEEPALIVE` default, in seconds.
    public static let defaultKeepalive = 30.0

    /// The most processes (`--autoscale` first number).
    public private(set) var max: Int
    /// The fewest processes (second number; 0 if absent).
    public private(set) var min: Int
    /// Seconds of inactivity before shrinking.
    public var keepalive: Double
    /// Monotonic time of the last scale up or of the last check that saw tasks.
    public private(set) var lastActive: Double

    /// - Parameters: `max` and `min` are swapped if given the wrong way
    ///   round (Celery sorts them); negatives count as 0.
    public init(max: Int, min: Int, keepalive: Double = Self.defaultKeepalive, now: Double) {
        let (a, b) = (Swift.max(0, max), Swift.max(0, min))
        self.max = Swift.max(a, b)
        self.min = Swift.min(a, b)
        self.keepalive = keepalive
        self.lastActive = now
    }

    /// Celery's `_maybe_scale`: given the pool's size (`processes`, the
    /// `Pool.concurrency`) and `qty` tasks reserved, what to do now.
    public mutating func decide(processes: Int, qty: Int, now: Double) -> Decision {
        if qty > 0 { lastActive = Swift.max(lastActive, now) }
        let up = Swift.min(qty, max)
        if up > processes {
            lastActive = now
            return .grow(up - processes)
        }
        let down = Swift.max(qty, min)
        if down < processes && now - lastActive > keepalive {
            return .shrink(processes - down)
        }
        return .none
    }

    /// Celery's `update(max, min)` (the `autoscale` control command): new
    /// limits (nil keeps one), and what to do at once: shrink to a smaller
    /// `max`, grow to a larger `min`. A `max` below `min` lowers `min` too.
    public mutating func update(max newMax: Int?, min newMin: Int?, processes: Int) -> Decision {
        if let newMax { max = Swift.max(0, newMax) }
        if let newMin { min = Swift.max(0, newMin) }
        if min > max {
            if newMin != nil && newMax == nil { max = min } else { min = max }
        }
        if processes > max { return .shrink(processes - max) }
        if processes < min { return .grow(min - processes) }
        return .none
    }

    /// TTIN while autoscaling (Celery 4's `force_scale_up`): one process
    /// more now, raising `max` if the pool is at it.
    public mutating func forceGrow(_ n: Int, processes: Int, now: Double) -> Decision {
        let n = Swift.max(0, n)
        if processes + n > max { max = processes + n }
        lastActive = now
        return n > 0 ? .grow(n) : .none
    }

    /// TTOU while autoscaling (Celery 4's `force_scale_down`): one process
    /// fewer now, lowering `min` if the pool is at it.
    public mutating func forceShrink(_ n: Int, processes: Int) -> Decision {
        let n = Swift.min(Swift.max(0, n), processes)
        if processes - n < min { min = processes - n }
        return n > 0 ? .shrink(n) : .none
    }
}
