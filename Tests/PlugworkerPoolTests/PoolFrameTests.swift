import PlugworkerCore
import Testing
@testable import PlugworkerPool

/// Every frame kind survives encode → decode, byte-exact where it matters.
@Suite struct PoolFrameTests {
    static let job = PoolJob(
        seq: 0xFEED_FACE_CAFE_BEEF, taskID: "7f1c9a4e-1d2b-4c3d-9e8f-0123456789ab", taskName: "arith.add",
        argsJSON: "[2, 3]", kwargsJSON: #"{"b": 3}"#, retries: 3,
        headersJSON: #"{"lang": "py", "task": "arith.add", "ünïcode": "✓"}"#,
        softTimeLimit: 2.5, hardTimeLimit: 10, hostname: "celery@host")

    static let frames: [PoolFrame] = [
        .task(job),
        .task(PoolJob(seq: 0, taskID: "", taskName: "", args: [], kwargs: [])),
        .result(seq: 1, outcome: .success(Array("5".utf8)), runtime: 0.000123),
        .result(seq: 2, outcome: .success([]), runtime: 0),
        .result(seq: 3, outcome: .failure(TaskException(type: "ZeroDivisionError", module: "builtins",
                                                         message: "integer division or modulo by zero")), runtime: 1),
        .result(seq: 4, outcome: .failure(TaskException(type: "E", module: "m", message: "", traceback: "line 1\nline 2")), runtime: 1),
        .result(seq: 5, outcome: .retry(countdown: 0.1, reason: "flaky: retry 1 of 2"), runtime: 0.5),
        .result(seq: 6, outcome: .retry(countdown: 180, reason: nil), runtime: 0.5),
        .ready(pid: 4242),
        .ready(pid: -1),
        .progress(seq: 9, current: 50, total: 100),
        .recycle(reason: "child process exiting after exceeding memory limit (204800KiB / 102400KiB)"),
        .recycle(reason: ""),
    ]

    @Test("every kind round-trips", arguments: frames)
    func roundTrip(_ frame: PoolFrame) throws {
        let bytes = frame.encoded()
        #expect(try PoolFrame.decode(bytes) == frame)
    }

    @Test("the prefix is the little-endian length of kind + body")
    func layout() {
        let bytes = PoolFrame.ready(pid: 0x0102_0304).encoded()
        #expect(bytes == [5, 0, 0, 0, 3, 0x04, 0x03, 0x02, 0x01])
    }

    @Test("a large argument list fits")
    func large() throws {
        let big = "[" + Array(repeating: "123456789", count: 200_000).joined(separator: ",") + "]"
        let frame = PoolFrame.task(PoolJob(seq: 1, taskID: "id", taskName: "t", argsJSON: big))
        #expect(try PoolFrame.decode(frame.encoded()) == frame)
    }

    @Test("a decode of one frame refuses extra or missing bytes")
    func exact() {
        let bytes = PoolFrame.ready(pid: 1).encoded()
        #expect(throws: PoolFrameError.self) { try PoolFrame.decode(bytes + [0]) }
        #expect(throws: PoolFrameError.self) { try PoolFrame.decode(Array(bytes.dropLast())) }
    }
}

/// The zygote's `plugins` message: the generation and the files, in order.
@Suite struct ZygotePluginSetTests {
    @Test("round trip, including an empty set; malformed messages are refused")
    func roundTrip() {
        for files in [["/a/libx.so", "/b/ü/liby.so"], []] {
            let bytes = ZygoteMessage.pluginSet(generation: 7, files: files)
            let decoded = bytes.withUnsafeBytes { ZygoteMessage.decodePluginSet($0) }
            #expect(decoded?.generation == 7 && decoded?.files == files)
        }
        var bad = ZygoteMessage.pluginSet(generation: 1, files: ["/a"])
        bad.removeLast() // no terminating NUL
        #expect(bad.withUnsafeBytes { ZygoteMessage.decodePluginSet($0) } == nil)
        let spawn = ZygoteMessage(kind: .spawn, a: 1).bytes
        #expect(spawn.withUnsafeBytes { ZygoteMessage.decodePluginSet($0) } == nil)
    }
}
