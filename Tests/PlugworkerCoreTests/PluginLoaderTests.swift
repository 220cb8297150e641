import Foundation
import Testing
@testable import PlugworkerCore

/// The loader's failure matrix: one broken plugin per way loading can fail,
/// each refused with its own code and a message that names the file (and
/// the symbol, where there is one). As SQLite's loadext.test does.
@Suite("Plugin loader", .serialized)
struct PluginLoaderTests {
    /// Loads `lib<name>.so` from the fixtures and returns the error.
    func refusal(_ name: String, loader: PluginLoader = Fixtures.loader()) -> PluginError? {
        let path = Fixtures.fixture(name)
        do {
            let m = try loader.loadPlugin(at: path)
            Issue.record("\(name) loaded as \(m.name), expected a refusal")
            return nil
        } catch {
            #expect(error.message.contains(path), "the message names the file: \(error.message)")
            #expect(loader.registry.failures.contains { $0.path == path && $0.error == error }, "recorded for `inspect plugins`")
            #expect(!error.detail.isEmpty && !error.hint.isEmpty)
            return error
        }
    }

    @Test("refusals, each with its own code", arguments: [
        ("not_elf", PluginError.Code.notSharedObject, "does not start with the ELF magic"),
        ("object", .notSharedObject, "relocatable object"),
        ("missing_dep", .missingDependency, "libfixture_dep.so"),
        ("no_magic", .noMagicBlock, "none of its code ran"),
        ("abi_major_older", .abiTooOld, "host ABI is 1.1, plugin ABI is 0.1"),
        ("abi_major_newer", .abiTooNew, "host ABI is 1.1, plugin ABI is 2.1"),
        ("abi_minor_newer", .abiMinorTooNew, "host ABI is 1.1, plugin ABI is 1.2"),
        ("bad_magic_size", .badMagicBlock, "size field is 4"),
        ("magic_null_name", .badMagicBlock, "NULL"),
        ("no_init", .noInitEntry, "plugworker_init"),
        ("init_fails", .initFailed, "database URL not configured"),
        ("unknown_symbol", .unknownSymbol, "does_not_exist"),
        ("bad_signature", .badSignature, "expected ':' and a type after parameter 'a'"),
        ("unknown_type", .unknownType, "unknown type 'int128'"),
    ])
    func refused(_ name: String, _ code: PluginError.Code, _ fragment: String) {
        let e = refusal(name)
        #expect(e?.code == code, "\(name): \(String(describing: e))")
        let text = e.map { $0.message + " " + $0.detail } ?? ""
        #expect(text.contains(fragment), "\(name): \(text)")
    }

    @Test("the unknown-symbol error names the symbol and the file that lacks it")
    func unknownSymbolNamesBoth() throws {
        let e = try #require(refusal("unknown_symbol"))
        #expect(e.message.contains("fixture_unknown_symbol:does_not_exist"))
        #expect(e.detail.contains(Fixtures.fixture("unknown_symbol")))
        #expect(e.hint.contains("PW_EXPORT"))
    }

    @Test("a library without the magic block is never opened: its constructor does not run")
    func noMagicNeverRuns() throws {
        let marker = Fixtures.makeTemporaryDirectory("marker") + "/ran"
        setenv("PW_FIXTURE_MARKER", marker, 1)
        defer { unsetenv("PW_FIXTURE_MARKER") }
        #expect(refusal("no_magic")?.code == .noMagicBlock)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("no such file")
    func notFound() {
        let loader = Fixtures.loader()
        #expect {
            _ = try loader.loadPlugin(at: "/nonexistent/libnope.so")
        } throws: { ($0 as? PluginError)?.code == .notFound && "\($0)".contains("/nonexistent/libnope.so") }
        #expect {
            _ = try loader.loadPlugin(named: "nope")
        } throws: { ($0 as? PluginError)?.code == .notFound && "\($0)".contains("libnope.so") }
    }

    @Test("a task name registered twice names both plugins; the first keeps it")
    func duplicateTask() throws {
        let loader = Fixtures.loader()
        _ = try loader.loadPlugin(at: Fixtures.fixture("dup_a"))
        let e = try #require(refusal("dup_b", loader: loader))
        #expect(e.code == .duplicateTask)
        #expect(e.detail.contains("fixture_dup_a") && e.detail.contains("fixture_dup_b"))
        #expect(e.detail.contains(Fixtures.fixture("dup_a")) && e.detail.contains(Fixtures.fixture("dup_b")))
        #expect(loader.registry.task(named: "fixture.dup")?.call("[]").resultText == "1")
        #expect(loader.registry.module(named: "fixture_dup_b") == nil)
    }

    @Test("files and directories writable by others are refused unless allowed")
    func insecure() throws {
        let dir = Fixtures.makeTemporaryDirectory("insecure")
        let file = dir + "/libgood.so"
        try FileManager.default.copyItem(atPath: Fixtures.fixture("good"), toPath: file)
        chmod(file, 0o757)
        var e = refusal(path: file)
        #expect(e?.code == .insecurePermissions)
        #expect(e?.detail.contains("file is writable by others") == true)
        chmod(file, 0o755)
        chmod(dir, 0o777)
        e = refusal(path: file)
        #expect(e?.code == .insecurePermissions)
        #expect(e?.detail.contains("directory") == true)
        let relaxed = Fixtures.loader([dir], allowInsecure: true)
        #expect(try relaxed.loadPlugin(at: file).name == "fixture_good")
        chmod(dir, 0o700)
    }

    func refusal(path: String) -> PluginError? {
        do {
            _ = try Fixtures.loader().loadPlugin(at: path)
            return nil
        } catch {
            return error
        }
    }

    @Test("the same file under two names loads once; a copy under the same module name is refused")
    func dedupe() throws {
        let dir = Fixtures.makeTemporaryDirectory("dedupe")
        try FileManager.default.createSymbolicLink(atPath: dir + "/libalias.so", withDestinationPath: Fixtures.fixture("good"))
        let loader = Fixtures.loader()
        let a = try loader.loadPlugin(at: Fixtures.fixture("good"))
        let b = try loader.loadPlugin(at: dir + "/libalias.so")
        #expect(a === b)
        #expect(loader.registry.modules.count == 1)
        try FileManager.default.copyItem(atPath: Fixtures.fixture("good"), toPath: dir + "/libcopy.so")
        #expect {
            _ = try loader.loadPlugin(at: dir + "/libcopy.so")
        } throws: { ($0 as? PluginError)?.code == .duplicateModule }
    }

    @Test("a good plugin: module table, qualified and bare symbols")
    func good() throws {
        let loader = Fixtures.loader()
        let m = try loader.loadPlugin(at: Fixtures.fixture("good"))
        #expect(m.name == "fixture_good" && m.version == "0.1" && m.abiText == "1.1" && m.kind == .plugin)
        #expect(m.taskNames == ["fixture.echo", "fixture.bare"])
        #expect(loader.registry.task(named: "fixture.echo")?.call("[7]").resultText == "7")
        #expect(loader.registry.task(named: "fixture.bare")?.call("[-3]").resultText == "-3")
        #expect(loader.registry.owner(ofTask: "fixture.bare") === m)
    }

    @Test("registration after init returns PW_E_STATE and registers nothing")
    func outsideInit() throws {
        let loader = Fixtures.loader()
        _ = try loader.loadPlugin(at: Fixtures.fixture("outside_init"))
        let late = try #require(loader.registry.task(named: "fixture.late"))
        #expect(late.call("[]").resultText == "2")
        #expect(loader.registry.task(named: "fixture.too_late") == nil)
    }

    @Test("bootsteps and signal handlers register; an unknown signal name is refused without failing the load")
    func stepsAndSignals() throws {
        let loader = Fixtures.loader()
        let m = try loader.loadPlugin(at: Fixtures.fixture("steps_signals"))
        let step = try #require(loader.registry.steps.first { $0.name == "fixture.Step" })
        #expect(step.blueprint == .worker && step.requires == ["Pool"] && step.module == "fixture_steps")
        #expect(m.signalHandlers.map(\.signal) == [.workerInit, .taskPrerun])
        let calls = unsafeBitCast(try #require(dlsym(m.handle, "fx_worker_init_calls")), to: (@convention(c) () -> Int32).self)
        let status = unsafeBitCast(try #require(dlsym(m.handle, "fx_bad_signal_status")), to: (@convention(c) () -> Int32).self)
        #expect(status() == 1)  // PW_E_INVALID
        let before = calls()
        let failed = loader.registry.send(.workerInit, SignalPayload(sender: "w1@test", pid: getpid()))
        #expect(failed.isEmpty)
        #expect(calls() == before + 1)
    }

    @Test("--task registers any C function of a known signature, from a system library")
    func taskFromSystemLibrary() throws {
        let loader = Fixtures.loader()
        let pow = try loader.registerTask(spec: "m.pow=libm.so.6:pow(x: double, y: double) -> double")
        #expect(pow.call("[2, 10]").resultText == "1024.0")
        #expect(pow.call("[]", #"{"y": 0.5, "x": 9}"#).resultText == "3.0")
        let m = try #require(loader.registry.module(named: "libm.so.6"))
        #expect(m.kind == .library && m.taskNames == ["m.pow"])
        let strlen = try loader.registerTask(spec: "c.strlen=libc.so.6:strlen(s: string) -> uint64")
        #expect(strlen.call(#"["héllo"]"#).resultText == "6")
    }

    @Test("--task failures", arguments: [
        ("x=libnope.so.9:f() -> void", PluginError.Code.notFound),
        ("x=libm.so.6:no_such_function() -> void", .unknownSymbol),
        ("x=libm.so.6:pow(x: double, y: long) -> double", .unknownType),
        ("x=libm.so.6:pow(x double) -> double", .badSignature),
        ("x=nope:f() -> void", .notFound),
        ("x y=libm.so.6:pow() -> void", .badTaskSpec),
    ])
    func taskSpecFailures(_ spec: String, _ code: PluginError.Code) {
        #expect {
            try Fixtures.loader().registerTask(spec: spec)
        } throws: { ($0 as? PluginError)?.code == code }
    }

    @Test("a directory loads every plugin in it and records each refusal")
    func directory() {
        let loader = Fixtures.loader()
        let results = loader.loadDirectories()
        let loaded = results.compactMap { try? $0.get().name }
        #expect(loaded.contains("fixture_good") && loaded.contains("fixture_conv"))
        #expect(loader.registry.failures.count >= 14)
        #expect(loader.registry.task(named: "conv.i64") != nil)
    }

    @Test("every error code is distinct")
    func distinctCodes() {
        let codes: [PluginError.Code] = [.notFound, .notSharedObject, .missingDependency, .noMagicBlock, .abiTooOld, .abiTooNew,
                                         .abiMinorTooNew, .noInitEntry, .initFailed, .unknownSymbol, .badSignature, .unknownType,
                                         .duplicateTask, .insecurePermissions, .loadFailed, .badMagicBlock, .invalidDescriptor,
                                         .duplicateModule, .duplicateStep, .badTaskSpec]
        #expect(Set(codes.map(\.number)).count == codes.count)
        #expect(Set(codes.map(\.name)).count == codes.count)
    }
}
