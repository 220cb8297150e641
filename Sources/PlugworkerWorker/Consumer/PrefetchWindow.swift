/// The prefetch count (`basic.qos`) the consumer asks for, and the
/// bookkeeping of messages held outside the ordinary window.
///
/// As a Python worker does, every message held unacknowledged for its ETA
/// or countdown raises the prefetch count by one, so that held messages do
/// not take the places of tasks that can run now (celery-wire §1.1, §3.2).
/// Messages waiting for a rate-limit token are held the same way, so that
/// a task over its limit never starves the others of the window.
///
/// Unlike Celery, the raise is bounded: past `holdLimit` (`--eta-limit`)
/// held messages the count stays at `base + holdLimit`. Further ETA
/// messages are still held (they are already here), but each then fills a
/// place of the ordinary window, so the broker sends fewer messages, and
/// none once the window is full of held ones: the worker takes no more
/// until some are released. Memory is bounded by `base + holdLimit`
/// messages. (With prefetch 0, i.e. `--prefetch-multiplier 0`, the broker
/// sends without limit and nothing can bound it.)
///
/// The count is applied lazily: `pendingUpdate()` tells once per Hub turn
/// whether a `basic.qos` is due, so a burst of a thousand ETA messages costs
/// one round trip, not a thousand (Celery's `qos.increment_eventually`).
struct PrefetchWindow: Equatable {
    /// concurrency × prefetch multiplier; 0 = no limit. Changed by the
    /// `autoscale` control command (the new maximum × multiplier).
    var base: UInt16
    /// `--eta-limit`.
    let holdLimit: Int
    /// Messages held for an ETA or a rate-limit token.
    private(set) var held = 0
    /// The count the broker has, nil before the first `basic.qos`.
    private(set) var applied: UInt16?
    /// Reaching the limit was reported; again only after falling to half.
    private var reported = false

    init(base: UInt16, holdLimit: Int) {
        self.base = base
        self.holdLimit = max(0, holdLimit)
    }

    /// One more message held; true when this one reached the limit and
    /// that is news (log it): once, then again only after the count fell
    /// to half the limit, so a worker that stays near it does not flood
    /// its log.
    @discardableResult
    mutating func hold() -> Bool {
        held += 1
        guard held >= holdLimit, !reported else { return false }
        reported = true
        return true
    }

    /// `n` held messages were released (to run, revoked, or given back).
    mutating func release(_ n: Int = 1) {
        held = max(0, held - n)
        if held <= holdLimit / 2 { reported = false }
    }

    /// At the limit: held messages now take places of the ordinary window.
    var isSaturated: Bool { held >= holdLimit }

    /// What the broker should have: base + min(held, holdLimit).
    var count: UInt16 {
        base == 0 ? 0 : UInt16(clamping: Int(base) + min(held, holdLimit))
    }

    /// The count to send with `basic.qos` if it changed since the last one
    /// sent (which it then records), nil otherwise.
    mutating func pendingUpdate() -> UInt16? {
        let c = count
        guard c != applied else { return nil }
        applied = c
        return c
    }

    /// The broker applied `count` (the initial `basic.qos` of a connection).
    mutating func didApply(_ count: UInt16) { applied = count }

    /// A new connection: nothing held (the broker requeued it all), nothing applied.
    mutating func reset() {
        held = 0
        applied = nil
        reported = false
    }
}
