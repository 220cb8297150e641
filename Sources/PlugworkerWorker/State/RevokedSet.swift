/// The ids of revoked tasks, bounded as Celery bounds them: at most
/// `maxCount` ids (50,000), each forgotten after `expiry` seconds (3 h).
/// Ids come from `revoke`/`terminate`, from expired tasks, and (later) from
/// other workers through mingle.
struct RevokedSet {
    static let defaultMaxCount = 50_000
    static let defaultExpiry = 10_800.0

    let maxCount: Int
    let expiry: Double
    /// Insertion order with the time each id was added.
    private var order: [(id: String, at: Double)] = []
    private var head = 0
    private var added: [String: Double] = [:]

    init(maxCount: Int = RevokedSet.defaultMaxCount, expiry: Double = RevokedSet.defaultExpiry) {
        self.maxCount = maxCount
        self.expiry = expiry
    }

    var count: Int { added.count }

    /// Adds `id` (or refreshes its time).
    mutating func insert(_ id: String, now: Double) {
        added[id] = now
        order.append((id, now))
        purge(now: now)
    }

    func contains(_ id: String) -> Bool { added[id] != nil }

    /// The ids, oldest first.
    var ids: [String] {
        order[head...].compactMap { added[$0.id] == $0.at ? $0.id : nil }
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
