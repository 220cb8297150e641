/// Coalesces acknowledgements into `basic.ack(multiple: true)`.
///
/// Every ack is a write to the broker and work for it, and at thousands of
/// short tasks a second they dominate. Acks are collected during a Hub turn
/// and flushed at its end: the longest run of settled delivery tags from the
/// oldest outstanding one is acknowledged with one `multiple` ack (whose tag
/// is itself a pending ack, so the broker always knows it); pending acks past
/// a gap — a message held for its ETA, or still waiting for a pool process —
/// are sent one by one, so that the gap never holds back the prefetch window.
///
/// Delivery tags on a channel count up from 1 without gaps, and all of the
/// worker's consumers share one channel, so a tag is an index.
struct AckBatcher {
    enum Flush: Equatable {
        /// `basic.ack(tag, multiple: true)`.
        case multiple(UInt64)
        /// `basic.ack(tag, multiple: false)`.
        case single(UInt64)
    }

    static let outstanding: UInt8 = 0
    static let pendingAck: UInt8 = 1
    static let settled: UInt8 = 2

    /// The tag of `states[0]`.
    private(set) var base: UInt64 = 1
    private(set) var states: [UInt8] = []
    /// Index of the oldest outstanding tag.
    private(set) var head = 0
    private(set) var pending = 0

    /// Forgets everything (a new connection starts at tag 1 again).
    mutating func reset() {
        self = AckBatcher()
    }

    /// A message arrived with `tag`.
    mutating func delivered(_ tag: UInt64) {
        guard tag >= base else { return }
        let index = Int(tag - base)
        while states.count < index { states.append(Self.settled) }  // not ours
        if index == states.count { states.append(Self.outstanding) }
    }

    /// `tag` is to be acknowledged at the next flush.
    mutating func ack(_ tag: UInt64) {
        guard let i = index(tag), states[i] == Self.outstanding else { return }
        states[i] = Self.pendingAck
        pending += 1
    }

    /// `tag` was settled otherwise (rejected, or acked on its own).
    mutating func settle(_ tag: UInt64) {
        guard let i = index(tag) else { return }
        if states[i] == Self.pendingAck { pending -= 1 }
        states[i] = Self.settled
    }

    func index(_ tag: UInt64) -> Int? {
        guard tag >= base, tag - base < UInt64(states.count) else { return nil }
        return Int(tag - base)
    }

    /// What to send now, in order. Empty when nothing is pending.
    mutating func flush() -> [Flush] {
        guard pending > 0 else { return [] }
        var out: [Flush] = []
        var lastPending: Int?
        let oldHead = head
        while head < states.count, states[head] != Self.outstanding {
            if states[head] == Self.pendingAck { lastPending = head }
            head += 1
        }
        if let last = lastPending {
            out.append(.multiple(base + UInt64(last)))
            // The multiple ack covers the pending acks of the newly settled run
            // (those before oldHead were covered by earlier flushes).
            for i in oldHead..<head where states[i] == Self.pendingAck {
                states[i] = Self.settled
                pending -= 1
            }
        }
        if pending > 0 {
            for i in head..<states.count where states[i] == Self.pendingAck {
                out.append(.single(base + UInt64(i)))
                states[i] = Self.settled
                pending -= 1
            }
        }
        compact()
        return out
    }

    /// Drops the settled prefix now and then, so memory stays bounded.
    mutating func compact() {
        guard head >= 4096 else { return }
        states.removeFirst(head)
        base += UInt64(head)
        head = 0
    }
}
