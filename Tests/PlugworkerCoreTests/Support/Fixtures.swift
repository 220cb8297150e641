import Foundation
import Logging
@testable import PlugworkerCore

/// Builds the test plugins once per test run and says where they are.
///
/// The example plugins are built in place (`make -C Plugins`); the broken
/// and conversion fixtures of `Tests/Fixtures/Plugins` into a private
/// temporary directory (mode 0700, so the loader's permission check passes).
enum Fixtures {
    /// The package root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `Plugins/`, with libarith.so, libtext.so and libaudit.so built.
    static let pluginsDir: String = {
        run("make", "-s", "-C", root + "/Plugins")
        return root + "/Plugins"
    }()

    /// A directory holding every fixture of Tests/Fixtures/Plugins, built.
    static let fixturesDir: String = {
        let dir = makeTemporaryDirectory("fixtures")
        run("make", "-s", "-j2", "-C", root + "/Tests/Fixtures/Plugins", "OUT=" + dir)
        return dir
    }()

    /// The path of fixture `lib<name>.so`.
    static func fixture(_ name: String) -> String { fixturesDir + "/lib\(name).so" }

    /// A new private (0700) temporary directory.
    static func makeTemporaryDirectory(_ label: String) -> String {
        var template = Array((NSTemporaryDirectory() + "/plugworker-\(label)-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        return String(cString: p)
    }

    /// A registry and loader searching `dirs`.
    static func loader(_ dirs: [String] = [fixturesDir], allowInsecure: Bool = false) -> PluginLoader {
        // Refusals are what these tests expect; they are asserted, not logged.
        var logger = Logger(label: "plugworker.loader.test")
        logger.logLevel = .critical
        return PluginLoader(registry: Registry(), searchPaths: dirs, allowInsecure: allowInsecure, logger: logger)
    }

    /// A loader with the example plugins loaded.
    static func examples() -> PluginLoader {
        let loader = loader([pluginsDir])
        for result in loader.loadDirectories() {
            if case .failure(let e) = result { fatalError("example plugin failed to load: \(e)") }
        }
        return loader
    }

    /// Runs a command; a failure stops the test run with its output.
    @discardableResult
    static func run(_ args: String...) -> String {
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

extension NativeTask {
    /// Calls the task with JSON text, a fresh context, and returns the outcome.
    func call(_ args: String, _ kwargs: String = "{}", retries: Int64 = 0, id: String = "task-id-1") -> TaskOutcome {
        invoke(argsJSON: args, kwargsJSON: kwargs, context: TaskContext(id: id, taskName: name, retries: retries))
    }
}

extension TaskOutcome {
    /// The JSON result text, or nil for failures and retries.
    var resultText: String? {
        if case .success(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var exception: TaskException? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
