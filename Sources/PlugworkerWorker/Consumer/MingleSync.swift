import PlugworkerCore

/// What a starting node learns from the replies to its mingle `hello`
/// (celery-wire §7.1; Celery's `Mingle.sync`): the revoked ids to merge and
/// the clocks to move past. Pure, for tests; `Consumer+Mingle` acts on it.
struct MingleSync: Equatable {
    /// Replies from other nodes (this node's own is left out).
    var heard = 0
    /// The nodes whose reply had something in it (Celery counts the
    /// non-empty replies in "mingle: sync with N nodes").
    var nodes: [String] = []
    /// Revoked ids from all replies, in reply order, each once.
    var revoked: [String] = []
    /// The replies' clocks.
    var clocks: [Int] = []
    /// Replies that are not `{"revoked": ..., "clock": ...}` objects, with why.
    var failures: [Failure] = []

    struct Failure: Equatable {
        var node: String
        var reason: String
    }

    /// Sorts the replies out.
    /// - Parameters:
    ///   - replies: `(node, payload)` as they came.
    ///   - ownNode: this node's name; its own (null) reply is left out.
    init(replies: [(node: String, payload: JSON)], ownNode: String) {
        var seen = Set<String>()
        for (node, payload) in replies where node != ownNode {
            heard += 1
            guard Self.isTruthy(payload) else { continue }
            nodes.append(node)
            guard case .object(let reply) = payload else {
                failures.append(Failure(node: node, reason: "the reply is a \(payload.pythonTypeName), not a dict"))
                continue
            }
            // A node may answer {"error": ...} (an old or foreign worker):
            // like Celery, take what is there and ignore the rest.
            if let c = reply["clock"]?.int64Value { clocks.append(Int(clamping: c)) }
            for id in Self.ids(reply["revoked"]) where seen.insert(id).inserted {
                revoked.append(id)
            }
        }
    }

    init() {}

    /// Ids from a `revoked` value: a list of ids (Celery 5.7, plugworker),
    /// or an object keyed by id (a `LimitedSet` dump, before 5.7).
    static func ids(_ value: JSON?) -> [String] {
        switch value {
        case .array(let items)?: return items.compactMap(\.stringValue)
        case .object(let o)?: return o.map(\.key)
        default: return []
        }
    }

    /// Python's truth value of a JSON value.
    static func isTruthy(_ v: JSON) -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .uint(let u): return u != 0
        case .bigint: return true
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return o.count > 0
        }
    }
}

/// A mingle in progress on one connection: the reply queue's client, the
/// request's ticket, the replies so far, and the timer that ends it.
final class MingleSession {
    let client: ControlClient
    let ticket: String
    var replies: [(node: String, payload: JSON)] = []
    var deadline: Timer.Entry?

    init(client: ControlClient, ticket: String) {
        self.client = client
        self.ticket = ticket
    }
}
