#if canImport(Glibc)
import Glibc
#endif

/// The master's timer: entries due at a monotonic time, kept in a binary
/// heap, fired by the Hub. Celery's `kombu.asynchronous.timer.Timer`.
///
/// Used for ETA tasks, heartbeats, reconnect backoff and periodic checks.
/// Not thread-safe: only the Hub thread uses it.
public final class Timer {
    /// A scheduled entry; keep it to cancel.
    public final class Entry {
        public fileprivate(set) var due: Double
        let action: () -> Void
        let interval: Double?
        public fileprivate(set) var cancelled = false
        fileprivate(set) var sequence: UInt64

        init(due: Double, interval: Double?, sequence: UInt64, action: @escaping () -> Void) {
            self.due = due
            self.interval = interval
            self.sequence = sequence
            self.action = action
        }

        /// Stops the entry from firing (again).
        public func cancel() { cancelled = true }
    }

    var heap: [Entry] = []
    var sequence: UInt64 = 0

    public init() {}

    /// Seconds on the monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Runs `action` once, `delay` seconds from now.
    @discardableResult
    public func call(after delay: Double, _ action: @escaping () -> Void) -> Entry {
        schedule(Entry(due: Self.now() + max(0, delay), interval: nil, sequence: next(), action: action))
    }

    /// Runs `action` every `interval` seconds, first after one interval.
    @discardableResult
    public func callRepeatedly(every interval: Double, _ action: @escaping () -> Void) -> Entry {
        schedule(Entry(due: Self.now() + interval, interval: interval, sequence: next(), action: action))
    }

    func next() -> UInt64 {
        sequence += 1
        return sequence
    }

    func schedule(_ e: Entry) -> Entry {
        heap.append(e)
        siftUp(heap.count - 1)
        return e
    }

    /// Seconds until the next live entry is due (0 if overdue), nil if none.
    public func timeUntilNext() -> Double? {
        while let top = heap.first, top.cancelled { popTop() }
        guard let top = heap.first else { return nil }
        return max(0, top.due - Self.now())
    }

    /// Fires every entry that is due; returns how many fired.
    @discardableResult
    public func fireDue() -> Int {
        let now = Self.now()
        var fired = 0
        while let top = heap.first, top.cancelled || top.due <= now {
            popTop()
            if top.cancelled { continue }
            if let interval = top.interval {
                // Reschedule from now, so a slow loop does not cause a burst.
                top.due = now + interval
                top.sequence = next()
                _ = schedule(top)
            }
            top.action()
            fired += 1
        }
        return fired
    }

    /// Number of live entries (cancelled ones are dropped lazily).
    public var count: Int { heap.filter { !$0.cancelled }.count }

    func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
    }

    func less(_ a: Entry, _ b: Entry) -> Bool { a.due < b.due || (a.due == b.due && a.sequence < b.sequence) }

    func siftUp(_ i: Int) {
        var i = i
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    func siftDown(_ i: Int) {
        var i = i
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(heap[l], heap[m]) { m = l }
            if r < heap.count && less(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
