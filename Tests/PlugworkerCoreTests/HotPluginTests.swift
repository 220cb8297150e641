import Foundation
import Testing
@testable import PlugworkerCore

/// Hot plugins in the registry and loader: add, replace, remove, refuse,
/// each from a private content-addressed copy (`PluginStore`).
@Suite("Hot plugins: registry and loader", .serialized)
struct HotPluginTests {
    /// A loader with a store, and an empty plugin directory.
    func setUp() throws -> (PluginLoader, PluginStore, String) {
        let dir = Fixtures.makeTemporaryDirectory("hot")
        let loader = Fixtures.loader([dir])
        let store = try PluginStore(directory: Fixtures.makeTemporaryDirectory("store"))
        loader.store = store
        return (loader, store, dir)
    }

    /// Removes the test's directories (the store's parent included).
    func cleanUp(_ store: PluginStore, _ dir: String) {
        store.removeAll()
        let parent = String(store.base[..<store.base.lastIndex(of: "/")!])
        try? FileManager.default.removeItem(atPath: parent)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Puts `source` at `dir/libhotswap.so` as a new file (a new inode).
    func install(_ source: String, in dir: String, as name: String = "libhotswap.so") throws -> String {
        let path = dir + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: source, toPath: path)
        return path
    }

    static var v1: String { Fixtures.fixture("hotswap") }
    static var v2: String { Fixtures.fixturesDir + "/hotswap_v2/libhotswap.so" }

    func version(_ loader: PluginLoader) -> TaskOutcome? {
        loader.registry.task(named: "hotswap.version")?.call("[]")
    }

    @Test("new: loaded from a private copy named by its SHA-256; tasks registered; listed as loaded")
    func add() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        let path = try install(Self.v1, in: dir)
        let m = try loader.loadCopy(of: path, replacing: nil)
        #expect(m.name == "hotswap" && m.version == "1" && m.status == .loaded)
        #expect(m.originalPath == path && m.sourcePath == path)
        let digest = try #require(PluginStore.digest(of: path))
        #expect(m.path == store.root + "/" + digest + "/libhotswap.so")
        #expect(version(loader) == .success(Array("1".utf8)))
        #expect(loader.pluginFiles == [m.path])
        let listing = loader.registry.listing()
        #expect(listing.count == 1 && listing[0].status == "loaded" && listing[0].originalPath == path)
        #expect(listing[0].tasks == ["hotswap.version", "hotswap.slow_version"])
    }

    @Test("replace: new tasks run the new code; the old task object still runs the old; old module listed replaced")
    func replace() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        let path = try install(Self.v1, in: dir)
        let old = try loader.loadCopy(of: path, replacing: nil)
        let oldTask = try #require(loader.registry.task(named: "hotswap.version"))
        _ = try install(Self.v2, in: dir)
        let new = try loader.loadCopy(of: path, replacing: old)
        #expect(new !== old && new.version == "2" && new.path != old.path)
        #expect(old.status == .replaced && new.status == .loaded)
        #expect(version(loader) == .success(Array("2".utf8)))
        #expect(oldTask.call("[]") == .success(Array("1".utf8)), "in-flight work keeps the old code: never unloaded")
        #expect(loader.registry.modules.map(\.name) == ["hotswap"])
        #expect(loader.registry.listing().map(\.status) == ["loaded", "replaced"])
        #expect(loader.pluginFiles == [new.path])
    }

    @Test("the same bytes again change nothing; going back to an earlier build revives it without running init twice")
    func sameBytesAndRevival() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        let path = try install(Self.v1, in: dir)
        let v1 = try loader.loadCopy(of: path, replacing: nil)
        _ = try install(Self.v1, in: dir) // a new inode, same content
        #expect(try loader.loadCopy(of: path, replacing: v1) === v1)
        _ = try install(Self.v2, in: dir)
        let v2 = try loader.loadCopy(of: path, replacing: v1)
        _ = try install(Self.v1, in: dir)
        let back = try loader.loadCopy(of: path, replacing: v2)
        #expect(back === v1 && v1.status == .loaded && v2.status == .replaced)
        #expect(version(loader) == .success(Array("1".utf8)))
        #expect(loader.registry.modules.count == 1 && loader.registry.tasks.count == 2)
    }

    @Test("remove: tasks unregistered, module listed removed; the file coming back revives it")
    func remove() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        let path = try install(Self.v1, in: dir)
        let m = try loader.loadCopy(of: path, replacing: nil)
        try FileManager.default.removeItem(atPath: path)
        #expect(loader.remove(original: path) === m)
        #expect(m.status == .removed)
        #expect(loader.registry.task(named: "hotswap.version") == nil)
        #expect(loader.registry.modules.isEmpty && loader.pluginFiles.isEmpty)
        #expect(loader.registry.listing().map(\.status) == ["removed"])
        #expect(loader.remove(original: path) == nil)
        _ = try install(Self.v1, in: dir)
        #expect(try loader.loadCopy(of: path, replacing: nil) === m)
        #expect(version(loader) == .success(Array("1".utf8)))
    }

    @Test("a broken new file is refused with the loader's error naming the original file; a module it replaces stays")
    func refused() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        let path = try install(Self.v1, in: dir)
        let m = try loader.loadCopy(of: path, replacing: nil)
        _ = try install(Fixtures.fixture("not_elf"), in: dir)
        #expect {
            _ = try loader.loadCopy(of: path, replacing: m)
        } throws: { error in
            guard let e = error as? PluginError else { return false }
            return e.code == .notSharedObject && e.message.hasPrefix(path) && e.path == path
        }
        #expect(m.status == .loaded && version(loader) == .success(Array("1".utf8)))
        let refused = try #require(loader.registry.listing().first { $0.status == "refused" })
        #expect(refused.path == path && refused.error?.code == .notSharedObject && refused.name == "hotswap")
        // Fixed again: the refusal is forgotten.
        _ = try install(Self.v2, in: dir)
        _ = try loader.loadCopy(of: path, replacing: m)
        #expect(!loader.registry.listing().contains { $0.status == "refused" })
    }

    @Test("a new file whose module or task name is taken is refused with the duplicate errors")
    func duplicates() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        _ = try loader.loadCopy(of: try install(Self.v1, in: dir), replacing: nil)
        let other = try install(Self.v2, in: dir, as: "libother.so")
        #expect {
            _ = try loader.loadCopy(of: other, replacing: nil)
        } throws: { ($0 as? PluginError)?.code == .duplicateModule && ($0 as? PluginError)?.message.contains(other) == true }
        // The same bytes as the live one under another name: still a duplicate.
        let same = try install(Self.v1, in: dir, as: "libsame.so")
        #expect {
            _ = try loader.loadCopy(of: same, replacing: nil)
        } throws: { ($0 as? PluginError)?.code == .duplicateModule }
        #expect(loader.registry.modules.count == 1)
    }

    @Test("the same file reached by a second path (a symlink) loads once, as without a store")
    func alias() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        let path = try install(Self.v1, in: dir)
        try FileManager.default.createSymbolicLink(atPath: dir + "/libalias.so", withDestinationPath: path)
        let results = loader.loadDirectories()
        let modules = try results.map { try $0.get() }
        #expect(modules.count == 2 && modules[0] === modules[1])
        #expect(loader.registry.failures.isEmpty && loader.registry.modules.count == 1)
    }

    @Test("loadDirectories with a store loads every plugin from a copy")
    func directoryThroughStore() throws {
        let (loader, store, dir) = try setUp()
        defer { cleanUp(store, dir) }
        _ = try install(Self.v1, in: dir)
        let results = loader.loadDirectories()
        let m = try #require(try results.first?.get())
        #expect(m.path.hasPrefix(store.root) && m.originalPath == dir + "/libhotswap.so")
        store.removeAll()
        #expect(access(store.base, F_OK) != 0)
    }

    @Test("SHA-256 of known vectors")
    func sha256() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
