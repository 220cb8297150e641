import Testing
@testable import PlugworkerWorker

@Suite("Ack batching")
struct AckBatcherTests {
    func batcher(delivered tags: ClosedRange<UInt64>) -> AckBatcher {
        var b = AckBatcher()
        for t in tags { b.delivered(t) }
        return b
    }

    @Test("a settled run from the oldest outstanding tag goes as one multiple ack")
    func run() {
        var b = batcher(delivered: 1...5)
        for t in [3, 1, 2] as [UInt64] { b.ack(t) }
        #expect(b.flush() == [.multiple(3)])
        #expect(b.pending == 0)
        #expect(b.flush() == [])
    }

    @Test("acks past a gap go one by one, so a held message never blocks the window")
    func gap() {
        var b = batcher(delivered: 1...6)
        b.ack(1)
        b.ack(2)
        b.ack(4)  // 3 is held (ETA)
        b.ack(6)
        #expect(b.flush() == [.multiple(2), .single(4), .single(6)])
        b.ack(3)
        b.ack(5)
        // 4 and 6 were acked already; the multiple ack names 5, a pending one.
        #expect(b.flush() == [.multiple(5)])
    }

    @Test("rejected tags close a gap without being acked")
    func rejected() {
        var b = batcher(delivered: 1...4)
        b.ack(1)
        b.settle(2)  // rejected
        b.ack(3)
        #expect(b.flush() == [.multiple(3)])
    }

    @Test("the multiple ack's tag is always one still pending")
    func tagIsPending() {
        var b = batcher(delivered: 1...3)
        b.ack(1)
        b.ack(2)
        b.settle(3)
        #expect(b.flush() == [.multiple(2)])
    }

    @Test("settling a pending ack cancels it; a tag is acked at most once")
    func settleCancels() {
        var b = batcher(delivered: 1...2)
        b.ack(1)
        b.settle(1)
        b.ack(1)
        #expect(b.pending == 0)
        #expect(b.flush() == [])
    }

    @Test("thousands of tags stay bounded and in order")
    func compaction() {
        var b = AckBatcher()
        var sent: [AckBatcher.Flush] = []
        for t in UInt64(1)...20_000 {
            b.delivered(t)
            b.ack(t)
            if t % 7 == 0 { sent += b.flush() }
        }
        sent += b.flush()
        #expect(sent.last == .multiple(20_000))
        #expect(b.states.count < 5000)
    }

    @Test("a new connection starts again at tag 1")
    func reset() {
        var b = batcher(delivered: 1...3)
        b.ack(1)
        b.reset()
        b.delivered(1)
        b.ack(1)
        #expect(b.flush() == [.multiple(1)])
    }
}
