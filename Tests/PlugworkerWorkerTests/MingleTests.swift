import PlugworkerCore
import Testing
@testable import PlugworkerWorker

@Suite("Mingle")
struct MingleTests {
    @Test("replies merged: own reply left out, ids once in order, clocks, both revoked formats")
    func merge() {
        let replies: [(node: String, payload: JSON)] = [
            ("me@h", .null),
            ("w1@h", ["revoked": ["a", "b"], "clock": 123]),
            ("w0@h", ["revoked": ["b": [1.5, "b"], "c": [2.5, "c"]], "clock": 7]),  // before 5.7: a LimitedSet dump
            ("w2@h", ["revoked": [], "clock": 5]),
        ]
        let sync = MingleSync(replies: replies, ownNode: "me@h")
        #expect(sync.heard == 3)
        #expect(sync.nodes == ["w1@h", "w0@h", "w2@h"])
        #expect(sync.revoked == ["a", "b", "c"])
        #expect(sync.clocks == [123, 7, 5])
        #expect(sync.failures.isEmpty)
    }

    @Test("all alone: nobody but ourselves; empty and odd replies")
    func alone() {
        #expect(MingleSync(replies: [("me@h", .null)], ownNode: "me@h").heard == 0)
        let sync = MingleSync(replies: [("w1@h", .null), ("w2@h", ["x"]), ("w3@h", ["error": "KeyError('hello')"])],
                              ownNode: "me@h")
        #expect(sync.heard == 3)
        #expect(sync.nodes == ["w2@h", "w3@h"])  // Celery counts the non-empty replies
        #expect(sync.failures == [.init(node: "w2@h", reason: "the reply is a list, not a dict")])
        #expect(sync.revoked.isEmpty && sync.clocks.isEmpty)
    }
}
