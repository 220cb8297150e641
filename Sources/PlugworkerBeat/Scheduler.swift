import PlugworkerCore

/// Beat's scheduler: the entries in a priority queue ordered by their next
/// due time, as Celery's `Scheduler.tick` keeps them in a heap.
///
/// It never reads a clock: every call takes `now` (UTC seconds), so tests
/// drive it through months, leap days and DST changes without sleeping.
/// The service around it sleeps until `nextDue` and calls `tick`.
///
/// Semantics, as Celery's beat:
/// - A new entry counts as last run when the scheduler first sees it: an
///   interval entry first runs one interval later, a crontab entry at its
///   next time.
/// - An entry that came due while beat was down runs **once** on start (not
///   once per missed time), then follows its schedule from then on.
/// - After a run at `now`, the next due time is computed from `now`.
/// - A send that fails (broker away) is retried after `retryDelay`; the
///   entry's last run is not recorded until a send succeeds.
public final class Scheduler {
    public private(set) var config: BeatConfig
    public private(set) var state: BeatState
    /// Seconds before a failed send is tried again.
    public var retryDelay = 1.0

    private var heap = MinHeap<Slot>()
    /// The next due time of each entry, by name (also in the heap).
    private var dueTimes: [String: Double] = [:]

    private struct Slot: Comparable {
        var due: Double
        var order: Int  // ties: file order
        var name: String
        static func < (a: Slot, b: Slot) -> Bool { a.due != b.due ? a.due < b.due : a.order < b.order }
    }

    /// - Parameters:
    ///   - state: the last runs read from the state file.
    ///   - now: the current time; entries without a record count as run now.
    public init(config: BeatConfig, state: BeatState, now: Double) {
        self.config = config
        self.state = state
        rebuild(now: now)
    }

    /// The earliest due time, or nil with no entries (or none that can fire).
    public var nextDue: Double? { heap.min?.due }

    /// Each entry with its next due time, in file order.
    public var listing: [(entry: BeatEntry, next: Double?)] {
        config.entries.map { ($0, dueTimes[$0.name]) }
    }

    /// Sends every entry due at `now` through `send` (which returns whether
    /// the task was published) and reschedules each.
    /// - Returns: the entries sent; the state changed if any were.
    @discardableResult
    public func tick(now: Double, send: (BeatEntry) -> Bool) -> [BeatEntry] {
        var sent: [BeatEntry] = []
        var retry: [Slot] = []
        while let top = heap.min, top.due <= now {
            heap.removeMin()
            guard let entry = config.entries.first(where: { $0.name == top.name }) else { continue }
            if send(entry) {
                let count = (state.records[entry.name]?.totalRunCount ?? 0) + 1
                state.records[entry.name] = BeatState.Record(lastRunAt: now, totalRunCount: count)
                schedule(entry, order: top.order, after: now)
                sent.append(entry)
            } else {
                retry.append(Slot(due: now + retryDelay, order: top.order, name: top.name))
            }
        }
        for slot in retry {
            dueTimes[slot.name] = slot.due
            heap.insert(slot)
        }
        return sent
    }

    /// Replaces the schedule (HUP, or the file changed): entries keep their
    /// last runs by name; new ones count as run now; removed ones are gone.
    public func reload(_ newConfig: BeatConfig, now: Double) {
        config = newConfig
        let names = Set(newConfig.entries.map(\.name))
        state.records = state.records.filter { names.contains($0.key) }
        rebuild(now: now)
    }

    private func rebuild(now: Double) {
        heap = MinHeap()
        dueTimes = [:]
        for (order, entry) in config.entries.enumerated() {
            if state.records[entry.name] == nil {
                state.records[entry.name] = BeatState.Record(lastRunAt: now, totalRunCount: 0)
            }
            let last = state.records[entry.name]!.lastRunAt
            guard let next = entry.schedule.next(after: last, in: config.zone) else { continue }
            // A time missed while beat was down is in the past: the next
            // tick sends it, once.
            dueTimes[entry.name] = next
            heap.insert(Slot(due: next, order: order, name: entry.name))
        }
    }

    private func schedule(_ entry: BeatEntry, order: Int, after time: Double) {
        guard let next = entry.schedule.next(after: time, in: config.zone) else {
            dueTimes[entry.name] = nil
            return
        }
        dueTimes[entry.name] = next
        heap.insert(Slot(due: next, order: order, name: entry.name))
    }
}

/// A binary min-heap.
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    var min: Element? { items.first }
    var count: Int { items.count }

    mutating func insert(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func removeMin() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count && items[l] < items[smallest] { smallest = l }
            if r < items.count && items[r] < items[smallest] { smallest = r }
            if smallest == i { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return top
    }
}
