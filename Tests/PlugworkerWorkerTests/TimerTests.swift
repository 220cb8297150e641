import PlugworkerCelery
import Testing
@testable import PlugworkerWorker

@Suite("Timer and node names")
struct TimerTests {
    @Test("entries fire in due order, cancelled ones never")
    func order() {
        let timer = Timer()
        var fired: [Int] = []
        timer.call(after: 0.004) { fired.append(2) }
        timer.call(after: 0.002) { fired.append(1) }
        let cancelled = timer.call(after: 0) { fired.append(0) }
        timer.call(after: 60) { fired.append(99) }
        cancelled.cancel()
        let deadline = Timer.now() + 0.006
        while Timer.now() < deadline {}
        #expect(timer.fireDue() == 2)
        #expect(fired == [1, 2])
        #expect(timer.count == 1)
        let next = timer.timeUntilNext()
        #expect(next != nil && next! > 59 && next! <= 60)
    }

    @Test("a repeating entry is rescheduled and can be cancelled through its handle")
    func repeating() {
        let timer = Timer()
        var n = 0
        let e = timer.callRepeatedly(every: 0.0001) { n += 1 }
        for _ in 0..<3 {
            let deadline = Timer.now() + 0.01
            while timer.fireDue() == 0 && Timer.now() < deadline {}
        }
        #expect(n == 3)
        e.cancel()
        #expect(timer.timeUntilNext() == nil)
    }

    @Test("node names expand like Celery's", arguments: [
        ("celery@%h", "celery@box.example.com"),
        ("w1@%n", "w1@box"),
        ("w1@%d", "w1@example.com"),
        ("w1", "w1@box.example.com"),
        ("a%%b@%h", "a%b@box.example.com"),
    ])
    func nodeNames(_ template: String, _ expected: String) {
        #expect(NodeName(template, hostname: "box.example.com").name == expected)
    }

    @Test("uuid4 text")
    func uuid() {
        let id = UUID4.make()
        #expect(id.count == 36)
        let parts = id.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[2].first == "4")
        #expect("89ab".contains(parts[3].first!))
        #expect(UUID4.make() != id)
    }
}
