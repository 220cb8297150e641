import Testing
@testable import PlugworkerWorker

@Suite("Revoked set")
struct RevokedSetTests {
    @Test("ids expire and the set stays bounded, oldest out first")
    func bounded() {
        var s = RevokedSet(maxCount: 3, expiry: 10)
        for (i, id) in ["a", "b", "c", "d"].enumerated() { s.insert(id, now: Double(i)) }
        #expect(s.ids == ["b", "c", "d"])
        #expect(!s.contains("a") && s.contains("d"))
        s.purge(now: 12.5)  // b (1) and c (2) are older than 10 s
        #expect(s.ids == ["d"])
    }

    @Test("re-adding refreshes an id")
    func refresh() {
        var s = RevokedSet(maxCount: 10, expiry: 10)
        s.insert("a", now: 0)
        s.insert("b", now: 1)
        s.insert("a", now: 5)
        s.purge(now: 11.5)
        #expect(s.ids == ["a"])
    }
}
