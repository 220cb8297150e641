import Testing
@testable import PlugworkerPool

/// The autoscale policy with a clock of our own: Celery's `_maybe_scale`,
/// `update`, and the TTIN/TTOU forced steps.
@Suite struct AutoscalerTests {
    @Test("limits are sorted as Celery sorts them; negatives count as 0")
    func limits() {
        let a = Autoscaler(max: 1, min: 3, keepalive: 2, now: 0)
        #expect(a.max == 3 && a.min == 1)
        let b = Autoscaler(max: 4, min: -1, now: 0)
        #expect(b.max == 4 && b.min == 0 && b.keepalive == Autoscaler.defaultKeepalive)
    }

    @Test("grows to the tasks reserved, never past max")
    func grow() {
        var a = Autoscaler(max: 3, min: 1, keepalive: 2, now: 0)
        #expect(a.decide(processes: 1, qty: 1, now: 0.1) == .none)
        #expect(a.decide(processes: 1, qty: 2, now: 0.2) == .grow(1))
        #expect(a.decide(processes: 2, qty: 10, now: 0.3) == .grow(1))
        #expect(a.decide(processes: 3, qty: 10, now: 0.4) == .none)
        #expect(a.lastActive == 0.4)
    }

    @Test("shrinks to max(qty, min) only after keepalive seconds without work")
    func shrinkAfterKeepalive() {
        var a = Autoscaler(max: 3, min: 1, keepalive: 2, now: 0)
        #expect(a.decide(processes: 1, qty: 3, now: 10) == .grow(2))
        // Work still there: no shrink however long.
        #expect(a.decide(processes: 3, qty: 3, now: 20) == .none)
        // Idle, but within keepalive of the last work seen (t = 20).
        #expect(a.decide(processes: 3, qty: 0, now: 21) == .none)
        #expect(a.decide(processes: 3, qty: 0, now: 22) == .none)
        #expect(a.decide(processes: 3, qty: 0, now: 22.5) == .shrink(2))
        // Never below min.
        #expect(a.decide(processes: 1, qty: 0, now: 100) == .none)
    }

    @Test("shrinks only to the tasks still reserved")
    func shrinkToQty() {
        var a = Autoscaler(max: 4, min: 0, keepalive: 1, now: 0)
        #expect(a.decide(processes: 0, qty: 4, now: 0) == .grow(4))
        // qty counts as work: a pool with work keeps what it needs.
        #expect(a.decide(processes: 4, qty: 2, now: 5) == .none)
        #expect(a.decide(processes: 4, qty: 0, now: 5.5) == .none)
        #expect(a.decide(processes: 4, qty: 0, now: 6.5) == .shrink(4))
    }

    @Test("update: a smaller max shrinks at once, a larger min grows at once")
    func update() {
        var a = Autoscaler(max: 4, min: 1, keepalive: 30, now: 0)
        #expect(a.update(max: 2, min: nil, processes: 4) == .shrink(2))
        #expect(a.max == 2 && a.min == 1)
        #expect(a.update(max: 6, min: 3, processes: 2) == .grow(1))
        #expect(a.max == 6 && a.min == 3)
        #expect(a.update(max: nil, min: nil, processes: 3) == .none)
        // min above max: the one given last wins.
        #expect(a.update(max: nil, min: 8, processes: 3) == .grow(5))
        #expect(a.max == 8 && a.min == 8)
        #expect(a.update(max: 2, min: nil, processes: 8) == .shrink(6))
        #expect(a.max == 2 && a.min == 2)
    }

    @Test("TTIN/TTOU move the limits when the pool is at them")
    func forced() {
        var a = Autoscaler(max: 2, min: 1, keepalive: 30, now: 0)
        #expect(a.forceGrow(1, processes: 1, now: 1) == .grow(1))
        #expect(a.max == 2)
        #expect(a.forceGrow(1, processes: 2, now: 2) == .grow(1))
        #expect(a.max == 3 && a.lastActive == 2)
        #expect(a.forceShrink(1, processes: 3) == .shrink(1))
        #expect(a.min == 1)
        #expect(a.forceShrink(1, processes: 1) == .shrink(1))
        #expect(a.min == 0)
        #expect(a.forceShrink(1, processes: 0) == .none)
    }
}
