import PlugworkerCore

/// The Gossip step's state (Celery's `worker/consumer/gossip.py`): the
/// other workers as their `worker-*` events show them, so that a worker
/// that stops sending heartbeats is noticed ("missed heartbeat from …"),
/// and the queue those events come through.
///
/// Elections: this node answers every `worker-elect` with a
/// `worker-elect-ack`, so the Python workers' elections (which wait for an
/// ack from every live worker, plugworker included) complete; it never
/// stands as a candidate itself (the `election` control command does
/// nothing here), so the Python workers elect one of them.
final class Gossip {
    /// Seconds between checks for lost nodes (Celery's `interval`).
    static let interval = 5.0
    /// The event queue's arguments, as a Python worker declares its
    /// `celeryev.<uuid>` gossip queue (wire notes §0.4).
    static let queueArguments = JSONObject([.init("x-message-ttl", .int(5000)), .init("x-expires", .int(60000))])

    var nodes = GossipNodes()
    /// The consumer tag of the event queue on the current connection.
    var consumerTag: String?
    var entry: Timer.Entry?
}

/// The live workers by node name, with when each was last heard of and
/// its heartbeat interval. Pure, for tests.
struct GossipNodes: Equatable {
    struct Node: Equatable {
        var lastHeard: Double
        var freq: Double
    }

    enum Change: Equatable {
        case joined
        case left
        case none
    }

    private(set) var nodes: [String: Node] = [:]

    /// The nodes heard of and not yet lost, sorted.
    var alive: [String] { nodes.keys.sorted() }

    /// A `worker-online`, `worker-heartbeat` or `worker-offline` from
    /// `hostname` at `now` (monotonic seconds). Other types change nothing.
    mutating func event(type: String, hostname: String, freq: Double?, now: Double) -> Change {
        switch type {
        case "worker-offline":
            return nodes.removeValue(forKey: hostname) == nil ? .none : .left
        case "worker-online", "worker-heartbeat":
            let isNew = nodes[hostname] == nil
            nodes[hostname] = Node(lastHeard: now, freq: freq ?? nodes[hostname]?.freq ?? 2.0)
            return isNew ? .joined : .none
        default:
            return .none
        }
    }

    /// Drops and returns the nodes not heard of for more than twice their
    /// heartbeat interval (Celery's liveness rule, wire notes §6.3).
    mutating func lost(now: Double) -> [String] {
        let gone = nodes.filter { now > $0.value.lastHeard + 2 * $0.value.freq }.map(\.key).sorted()
        for name in gone { nodes[name] = nil }
        return gone
    }
}
