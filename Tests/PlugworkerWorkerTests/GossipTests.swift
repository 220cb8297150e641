import PlugworkerCore
import Testing
@testable import PlugworkerWorker

@Suite("Gossip")
struct GossipTests {
    @Test("nodes join with a heartbeat, leave with worker-offline, are lost after 2 × freq")
    func liveness() {
        var g = GossipNodes()
        #expect(g.event(type: "worker-online", hostname: "a@h", freq: 2, now: 0) == .joined)
        #expect(g.event(type: "worker-heartbeat", hostname: "a@h", freq: 2, now: 2) == .none)
        #expect(g.event(type: "worker-heartbeat", hostname: "b@h", freq: 5, now: 2) == .joined)
        #expect(g.event(type: "worker-elect", hostname: "c@h", freq: nil, now: 2) == .none)
        #expect(g.alive == ["a@h", "b@h"])
        #expect(g.lost(now: 6).isEmpty)          // a: 2 + 4 = 6, not past it
        #expect(g.lost(now: 6.5) == ["a@h"])
        #expect(g.event(type: "worker-offline", hostname: "b@h", freq: 5, now: 7) == .left)
        #expect(g.event(type: "worker-offline", hostname: "b@h", freq: 5, now: 7) == .none)
        #expect(g.alive.isEmpty)
    }

    @Test("worker-elect-ack carries the election id and the common fields")
    func electAck() throws {
        let e = Event.workerElectAck(Event.Common(hostname: "w1@h", timestamp: 1.5, utcoffset: 0, pid: 7, clock: 9), id: "e1")
        #expect(e.routingKey == "worker.elect.ack")
        let body = try JSON.parse(e.body)
        #expect(body["type"] == "worker-elect-ack" && body["id"] == "e1" && body["hostname"] == "w1@h" && body["clock"] == 9)
    }
}
