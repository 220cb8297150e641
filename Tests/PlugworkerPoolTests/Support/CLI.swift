import Foundation

/// Runs the built `plugworker` binary: the pool's process tests go through
/// `plugworker apply --isolated`, so that the forks happen in that
/// single-threaded process and never in this multi-threaded test runner.
enum CLI {
    /// The package root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The `plugworker` executable `swift test` built next to the test
    /// bundle (the same build directory), else `.build-pool/debug/plugworker`.
    static let binary: String? = {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("plugworker").path)
        }
        candidates.append(root + "/.build-pool/debug/plugworker")
        candidates.append(root + "/.build/debug/plugworker")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `Plugins/`, with the example plugins built.
    static let pluginsDir: String = {
        shell("make", "-s", "-C", root + "/Plugins")
        return root + "/Plugins"
    }()

    /// A private (0700) directory holding `libinit_crash.so`, a plugin whose
    /// init calls abort(), built from `Fixtures/init_crash.c.in` with the
    /// plain plugin command line.
    static let initCrashDir: String = {
        let dir = makeTemporaryDirectory("init-crash")
        let source = root + "/Tests/PlugworkerPoolTests/Fixtures/init_crash.c.in"
        shell("cc", "-shared", "-fPIC", "-fvisibility=hidden", "-I", root + "/Sources/CPlugworker/include",
              "-x", "c", "-o", dir + "/libinit_crash.so", source)
        return dir
    }()

    static func makeTemporaryDirectory(_ label: String) -> String {
        var template = Array((NSTemporaryDirectory() + "/plugworker-pool-\(label)-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        return String(cString: p)
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var pid: Int32
        var seconds: Double
        /// stderr lines, without the empty last one.
        var errorLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// Runs `plugworker args...`, killing it after `timeout` seconds.
    static func run(_ args: [String], environment: [String: String] = [:], timeout: Double = 60) throws -> Result {
        guard let binary else {
            throw CLIError("plugworker is not built: run `swift build --scratch-path .build-pool --product plugworker`")
        }
        let dir = makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let out = FileHandle(forWritingAtPath: dir + "/out")!
        let err = FileHandle(forWritingAtPath: dir + "/err")!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = out
        p.standardError = err
        let start = Date()
        try p.run()
        let deadline = start.addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw CLIError("plugworker \(args.joined(separator: " ")) did not finish within \(timeout) s")
        }
        p.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "",
                      pid: p.processIdentifier,
                      seconds: Date().timeIntervalSince(start))
    }

    /// Runs a build command; a failure stops the test run with its output.
    @discardableResult
    static func shell(_ args: String...) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { fatalError("cannot run \(args): \(error)") }
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus != 0 { fatalError("\(args.joined(separator: " ")) failed:\n\(out)") }
        return out
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
