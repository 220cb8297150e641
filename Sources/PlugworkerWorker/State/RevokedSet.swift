/// The ids of revoked tasks, bounded as Celery bounds them: at most
/// `maxCount` ids (50,000), each forgotten after `expiry` seconds (3 h).
/// Ids come from `revoke`/`terminate`, from expired tasks, from other
/// workers through mingle, and from the state file (`--statedb`).
/// Times are `Timer.now()` (monotonic); `StateFile` converts them to wall
/// time and back.
struct RevokedSet {
    static let defaultMaxCount = 50_000
    static let defaultExpiry = 10_800.0

    let maxCount: Int
    let expiry: Double
    /// Insertion order with the time each id was added.
    private var order: [(id: String, at: Double)] = []
    private var head = 0
    private var added: [String: Double] = [:]
    /// Counts insertions, so a saver can tell that something changed.
    private(set) var changes = 0

    init(maxCount: Int = RevokedSet.defaultMaxCount, expiry: Double = RevokedSet.defaultExpiry) {
        self.maxCount = maxCount
        self.expiry = expiry
    }

    var count: Int { added.count }

    /// Adds `id` (or refreshes its time).
    mutating func insert(_ id: String, now: Double) {
        insert(id, at: now, now: now)
    }

    /// Adds `id` as revoked at `at` (earlier than `now` for ids read back
    /// from the state file; add those oldest first).
    mutating func insert(_ id: String, at: Double, now: Double) {
        guard added[id] != at else { return }  // the same id twice in one instant: one entry
        added[id] = at
        order.append((id, at))
        changes += 1
        purge(now: now)
    }

    func contains(_ id: String) -> Bool { added[id] != nil }

    /// The ids, oldest first.
    var ids: [String] {
        order[head...].compactMap { added[$0.id] == $0.at ? $0.id : nil }
    }

    /// The ids with the time each was added, oldest first.
    var entries: [(id: String, at: Double)] {
        order[head...].filter { added[$0.id] == $0.at }
    }

    /// Drops expired ids and the oldest beyond `maxCount`.
    mutating func purge(now: Double) {
        while head < order.count {
            let (id, at) = order[head]
            let stale = added[id] != at  // re-added later: this entry is old
            if stale || now - at > expiry || added.count > maxCount {
                if !stale { added[id] = nil }
                head += 1
            } else {
                break
            }
        }
        if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
