#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCore
import Testing
@testable import PlugworkerWorker

/// A fresh directory under /tmp, removed by the caller with `removeTree`.
private func temporaryDirectory() -> String {
    var template = Array("/tmp/pw-statefile-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}

private func removeTree(_ dir: String) {
    for name in ["state.json", "state.json.tmp"] { unlink(dir + "/" + name) }
    rmdir(dir)
}

private func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

@Suite("State file (--statedb)")
struct StateFileTests {
    @Test("round trip: ids in order with their times, and the clock")
    func roundTrip() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/state.json"
        let state = StateFile(revoked: [.init(id: "a", at: 1000.25), .init(id: "b", at: 1500.5)], clock: 42)
        try state.save(path: path)
        #expect(access(path + ".tmp", F_OK) != 0)  // renamed over, nothing left beside
        let (back, problem) = StateFile.load(path: path, now: 2000)
        #expect(problem == nil)
        #expect(back == state)
        let text = String(decoding: FileBytes.read(path) ?? [], as: UTF8.self)
        #expect(text.hasPrefix(#"{"format": "plugworker-statedb", "version": 1, "clock": 42, "revoked": [["a", 1000.25]"#))
    }

    @Test("expired ids are dropped at load, and only the newest maxCount kept")
    func expiry() throws {
        let doc = #"{"format": "plugworker-statedb", "version": 1, "clock": 7, "revoked": [["old", 100], ["mid", 9000], ["new", 10000]]}"#
        let s = try StateFile.parse(Array(doc.utf8), now: 10_950, expiry: 10_800)
        #expect(s.revoked.map(\.id) == ["mid", "new"])
        #expect(s.clock == 7)
        let bounded = try StateFile.parse(Array(doc.utf8), now: 10_000, expiry: 10_800, maxCount: 1)
        #expect(bounded.revoked.map(\.id) == ["new"])
    }

    @Test("a missing file is an empty state; a corrupt one too, with the reason")
    func corrupt() {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/state.json"
        let missing = StateFile.load(path: path, now: 0)
        #expect(missing.state == StateFile() && missing.problem == nil)
        for (text, says) in [
            ("\u{0}\u{1}garbage", "invalid JSON"),
            (#"{"version": 1, "revoked": []}"#, "format"),
            (#"{"format": "plugworker-statedb", "version": 9, "revoked": []}"#, "unsupported version 9"),
            (#"{"format": "plugworker-statedb", "version": 1, "revoked": {"a": 1}}"#, "not a list"),
            (#"{"format": "plugworker-statedb", "version": 1, "revoked": [["a", "x"]]}"#, "revoked[0]"),
        ] {
            writeFile(path, text)
            let (state, problem) = StateFile.load(path: path, now: 0)
            #expect(state == StateFile())
            #expect(problem?.description.contains(says) == true, "\(problem?.description ?? "no problem") for \(text)")
        }
    }

    @Test("the revoked set's monotonic stamps become wall time and back")
    func revokedSetConversion() {
        var set = RevokedSet()
        set.insert("a", now: 50)   // monotonic
        set.insert("b", now: 90)
        let state = StateFile(revoked: set, clock: 3, monotonicNow: 100, wallNow: 1_000_000)
        #expect(state.revoked == [.init(id: "a", at: 999_950), .init(id: "b", at: 999_990)])
        // After a "reboot": the monotonic clock restarted at 7.
        var restored = RevokedSet()
        state.restore(into: &restored, monotonicNow: 7, wallNow: 1_000_100)
        #expect(restored.entries.map(\.id) == ["a", "b"])
        #expect(restored.entries.map(\.at) == [7 - 150, 7 - 110])
        restored.purge(now: 7 - 150 + RevokedSet.defaultExpiry + 1)  // a expires first
        #expect(restored.ids == ["b"])
    }

    @Test("an unwritable place throws, naming the file")
    func unwritable() {
        #expect(throws: StateFile.SaveError.self) {
            try StateFile().save(path: "/nonexistent-dir/state.json")
        }
    }

    @Test("node_format for --statedb")
    func nodeFormat() {
        #expect(NodeName.format("/var/run/%n.state", node: "w1@host.example.com") == "/var/run/w1.state")
        #expect(NodeName.format("%p-%h-%d-%%", node: "w1@host.example.com") == "w1@host.example.com-host.example.com-example.com-%")
    }
}
