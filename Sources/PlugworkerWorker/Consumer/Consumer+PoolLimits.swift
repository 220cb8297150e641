/// What the Autoscaler step reads from and changes in the consumer.
extension Consumer {
    /// Celery's `len(state.reserved_requests)`: tasks waiting for a pool
    /// process or running (not those held for an ETA or a rate limit).
    var reservedCount: Int { running.count + ready.count - readyHead }

    /// The prefetch count follows the most pool processes (`autoscale`
    /// with a new maximum, `pool_grow`/`pool_shrink`, TTIN/TTOU): that ×
    /// the multiplier, sent at the end of the Hub turn (Celery's
    /// `_update_prefetch_count`). With a multiplier of 0 it stays unlimited.
    func setPrefetchConcurrency(_ processes: Int) {
        guard options.prefetchMultiplier > 0 else { return }
        window.base = UInt16(clamping: Swift.max(1, processes) * options.prefetchMultiplier)
    }
}
