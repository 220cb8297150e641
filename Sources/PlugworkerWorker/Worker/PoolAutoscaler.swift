import Logging
import PlugworkerPool

/// The Autoscaler worker step (`--autoscale max,min`): asks the
/// `Autoscaler` policy what to do, on the Hub's Timer (no thread, unlike
/// Celery's `bgThread`) and whenever tasks are left waiting for a process,
/// and applies it to the pool (`Pool.grow` / `Pool.shrink`), logging as
/// Celery does ("Scaling up 2 processes.", whatever the number).
final class PoolAutoscaler {
    private(set) var policy: Autoscaler
    let pool: Pool
    let timer: Timer
    let logger: Logger
    /// Celery's `qty`: tasks received and not finished (waiting for a
    /// process or running). Set by the worker once the consumer exists.
    var reserved: () -> Int = { 0 }
    /// Called with the new maximum when `update` changed it (the consumer
    /// sets its prefetch count from it, as Celery does).
    var onMaxChange: (Int) -> Void = { _ in }
    var entry: Timer.Entry?

    init(max: Int, min: Int, keepalive: Double, pool: Pool, timer: Timer, logger: Logger) {
        policy = Autoscaler(max: max, min: min, keepalive: keepalive, now: Timer.now())
        self.pool = pool
        self.timer = timer
        self.logger = logger
    }

    /// Checks every second (or every `keepalive`, if shorter).
    func start() {
        entry = timer.callRepeatedly(every: Swift.max(0.05, Swift.min(1.0, policy.keepalive))) { [unowned self] in
            self.maybeScale()
        }
    }

    func stop() {
        entry?.cancel()
        entry = nil
    }

    /// Grows or shrinks the pool if the policy says so now.
    func maybeScale() {
        apply(policy.decide(processes: pool.concurrency, qty: reserved(), now: Timer.now()))
    }

    /// The `autoscale` control command: new limits, applied at once.
    func update(max: Int?, min: Int?) -> (max: Int, min: Int) {
        let oldMax = policy.max
        apply(policy.update(max: max, min: min, processes: pool.concurrency))
        if policy.max != oldMax { onMaxChange(policy.max) }
        logger.info("autoscale: now max=\(policy.max) min=\(policy.min)")
        return (policy.max, policy.min)
    }

    /// TTIN: one more process, raising the maximum if needed.
    func forceGrow(_ n: Int) {
        let oldMax = policy.max
        apply(policy.forceGrow(n, processes: pool.concurrency, now: Timer.now()))
        if policy.max != oldMax { onMaxChange(policy.max) }
    }

    /// TTOU: one process fewer, lowering the minimum if needed.
    func forceShrink(_ n: Int) {
        apply(policy.forceShrink(n, processes: pool.concurrency))
    }

    /// `stats`' `autoscaler`: Celery's `{max, min, current, qty}`.
    var info: (max: Int, min: Int, current: Int, qty: Int) {
        (policy.max, policy.min, pool.concurrency, reserved())
    }

    func apply(_ decision: Autoscaler.Decision) {
        switch decision {
        case .none:
            break
        case .grow(let n):
            logger.info("Scaling up \(n) processes.")
            pool.grow(n)
        case .shrink(let n):
            logger.info("Scaling down \(n) processes.")
            pool.shrink(n)
        }
    }
}
