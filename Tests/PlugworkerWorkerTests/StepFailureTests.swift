import Foundation
import Testing

/// The real worker binary with a plugin whose worker step fails to start.
@Suite("A bootstep that fails to start")
struct StepFailureTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    @Test("stops the started steps in reverse and exits with the start-failed code", .timeLimit(.minutes(1)))
    func failingStep() throws {
        let binary = Self.root + "/.build/debug/plugworker"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the CLI first: swift build")
        var template = Array((NSTemporaryDirectory() + "/plugworker-stepfail-XXXXXX").utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-fvisibility=hidden", "-I", Self.root + "/Sources/CPlugworker/include",
                        "-o", dir + "/libstep_fails.so", Self.root + "/Tests/Fixtures/Plugins/step_fails.c"]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        // No broker is needed: the Consumer step comes last and never starts.
        p.arguments = ["--plugins", dir, "-c", "1", "-n", "stepfail@%h", "-l", "debug", "--broker", "amqp://guest:guest@127.0.0.1:1//"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 70, "\(log)")
        let lines = log.split(separator: "\n").map(String.init)
        func index(_ fragment: String) -> Int? { lines.firstIndex { $0.contains(fragment) } }
        let failed = try #require(index("fixture.FailingStep start: failing"))
        let stopPool = try #require(index("Worker: Stopping Pool"))
        let stopHub = try #require(index("Worker: Stopping Hub"))
        let stopTimer = try #require(index("Worker: Stopping Timer"))
        #expect(failed < stopPool && stopPool < stopHub && stopHub < stopTimer)
        #expect(index("Starting Consumer") == nil)
        #expect(index("fixture.FailingStep stop") == nil)  // never started, so never stopped
        #expect(index("fixture.FailingStep shutdown") != nil)
        #expect(index("step \"fixture.FailingStep\"") != nil)
    }
}
