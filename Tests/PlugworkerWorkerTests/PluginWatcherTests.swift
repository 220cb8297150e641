#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import PlugworkerCore
import Testing
@testable import PlugworkerWorker

/// The hot-plugins watcher's event handling: which inotify events make a
/// file due for a check, and the per-file debounce.
@Suite struct PluginWatcherTests {
    static let closeWrite = UInt32(PWS_IN_CLOSE_WRITE)
    static let create = UInt32(PWS_IN_CREATE)
    static let modify = UInt32(PWS_IN_MODIFY)
    static let movedTo = UInt32(PWS_IN_MOVED_TO)
    static let movedFrom = UInt32(PWS_IN_MOVED_FROM)
    static let delete = UInt32(PWS_IN_DELETE)

    func watcher() -> PluginWatcher {
        var w = PluginWatcher(debounce: 0.15)
        w.directories = [1: "/p", 2: "/q"]
        return w
    }

    func event(_ mask: UInt32, _ name: String, wd: Int32 = 1) -> InotifyEvent {
        InotifyEvent(wd: wd, mask: mask, name: name)
    }

    @Test("cp: CREATE alone schedules nothing; CLOSE_WRITE schedules one check after the debounce")
    func copy() {
        var w = watcher()
        #expect(w.handle(event(Self.create, "libfoo.so"), now: 10) == nil)
        #expect(w.nextDue == nil, "a half-written file is not looked at")
        _ = w.handle(event(Self.modify, "libfoo.so"), now: 10.01)
        #expect(w.nextDue == nil, "MODIFY without a scheduled check schedules none")
        _ = w.handle(event(Self.closeWrite, "libfoo.so"), now: 10.02)
        #expect(w.nextDue == 10.02 + 0.15)
        #expect(w.takeDue(now: 10.1).isEmpty)
        #expect(w.takeDue(now: 10.2) == ["/p/libfoo.so"])
        #expect(w.nextDue == nil)
    }

    @Test("a burst on one file (rm, cp, several closes and writes) ends in one check, after the last event")
    func debounce() {
        var w = watcher()
        _ = w.handle(event(Self.delete, "libfoo.so"), now: 1.0)
        _ = w.handle(event(Self.create, "libfoo.so"), now: 1.05)
        _ = w.handle(event(Self.closeWrite, "libfoo.so"), now: 1.1)
        _ = w.handle(event(Self.modify, "libfoo.so"), now: 1.2)
        #expect(w.takeDue(now: 1.3).isEmpty, "the MODIFY pushed the check back")
        #expect(w.takeDue(now: 1.36) == ["/p/libfoo.so"])
        #expect(w.takeDue(now: 5).isEmpty)
    }

    @Test("each file has its own debounce; due files come in name order")
    func perFile() {
        var w = watcher()
        _ = w.handle(event(Self.movedTo, "libb.so"), now: 1.0)
        _ = w.handle(event(Self.closeWrite, "liba.so", wd: 2), now: 1.0)
        _ = w.handle(event(Self.movedFrom, "libc.so"), now: 2.0)
        #expect(w.takeDue(now: 1.2) == ["/p/libb.so", "/q/liba.so"])
        #expect(w.takeDue(now: 2.2) == ["/p/libc.so"])
    }

    @Test("mv, rm and mv away all schedule a check")
    func settleEvents() {
        for mask in [Self.movedTo, Self.delete, Self.movedFrom, Self.closeWrite] {
            var w = watcher()
            _ = w.handle(event(mask, "libfoo.so"), now: 0)
            #expect(w.takeDue(now: 1) == ["/p/libfoo.so"], "mask \(mask)")
        }
    }

    @Test("only *.so files that are not hidden count; directories and unknown watches are ignored")
    func filters() {
        var w = watcher()
        _ = w.handle(event(Self.closeWrite, "notes.txt"), now: 0)
        _ = w.handle(event(Self.closeWrite, ".libfoo.so.swp"), now: 0)
        _ = w.handle(event(Self.closeWrite, ".libfoo.so"), now: 0)
        _ = w.handle(event(Self.create | UInt32(PWS_IN_ISDIR), "dir.so"), now: 0)
        _ = w.handle(event(Self.closeWrite, "libfoo.so", wd: 9), now: 0)
        #expect(w.nextDue == nil)
    }

    @Test("a symbolic link is checked on CREATE (it gets no CLOSE_WRITE)")
    func symlink() {
        var w = watcher()
        _ = w.handle(event(Self.create, "liblink.so"), now: 0, isSymlink: { $0 == "/p/liblink.so" })
        #expect(w.takeDue(now: 1) == ["/p/liblink.so"])
    }

    @Test("overflow asks for a rescan; a watched directory going away is reported and forgotten")
    func notices() {
        var w = watcher()
        #expect(w.handle(InotifyEvent(wd: -1, mask: UInt32(PWS_IN_Q_OVERFLOW), name: ""), now: 0) == .overflow)
        #expect(w.handle(event(UInt32(PWS_IN_DELETE_SELF), ""), now: 0) == .directoryGone("/p"))
        #expect(w.handle(event(UInt32(PWS_IN_IGNORED), ""), now: 0) == .directoryGone("/p"))
        #expect(w.directories[1] == nil)
        #expect(w.directories[2] == "/q")
    }

    @Test("parse: records with NUL-padded names, several per read; a truncated tail is dropped")
    func parse() {
        func record(_ wd: Int32, _ mask: UInt32, _ cookie: UInt32, _ name: String, pad: Int) -> [UInt8] {
            var b: [UInt8] = []
            withUnsafeBytes(of: wd) { b += $0 }
            withUnsafeBytes(of: mask) { b += $0 }
            withUnsafeBytes(of: cookie) { b += $0 }
            let n = name.isEmpty ? [] : Array(name.utf8) + [UInt8](repeating: 0, count: pad)
            withUnsafeBytes(of: UInt32(n.count)) { b += $0 }
            return b + n
        }
        let bytes = record(1, Self.closeWrite, 0, "libfoo.so", pad: 7) + record(2, Self.movedTo, 42, "liba.so", pad: 1)
            + record(1, UInt32(PWS_IN_IGNORED), 0, "", pad: 0)
        let events = bytes.withUnsafeBytes { InotifyEvent.parse($0) }
        #expect(events == [
            InotifyEvent(wd: 1, mask: Self.closeWrite, cookie: 0, name: "libfoo.so"),
            InotifyEvent(wd: 2, mask: Self.movedTo, cookie: 42, name: "liba.so"),
            InotifyEvent(wd: 1, mask: UInt32(PWS_IN_IGNORED), cookie: 0, name: ""),
        ])
        let truncated = Array(bytes.dropLast(3))
        #expect(truncated.withUnsafeBytes { InotifyEvent.parse($0) }.count == 2)
    }

    @Test("a real inotify descriptor reports a file copied into a watched directory")
    func realInotify() throws {
        var template = Array("/tmp/plugworker-watch-XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { _ = system("rm -rf '\(dir)'") }
        let fd = pws_inotify_init()
        #expect(fd >= 0)
        defer { close(fd) }
        let wd = pws_inotify_add_watch(fd, dir, HotPlugins.mask)
        #expect(wd >= 0)
        var w = PluginWatcher(debounce: 0.1)
        w.directories[wd] = dir
        let file = fopen(dir + "/libnew.so", "w")
        fputs("bytes", file)
        fclose(file)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        #expect(n > 0)
        let events = buffer.withUnsafeBytes { InotifyEvent.parse(UnsafeRawBufferPointer(rebasing: $0[0..<max(n, 0)])) }
        for e in events { _ = w.handle(e, now: 0) }
        #expect(events.contains { $0.mask & Self.create != 0 })
        #expect(events.contains { $0.mask & Self.closeWrite != 0 })
        #expect(w.takeDue(now: 1) == [dir + "/libnew.so"])
    }
}

/// The `plugins` pidbox command's payload and its CLI spec.
@Suite struct PluginsCommandTests {
    @Test("one object per module: status, paths, tasks; a refused file carries its error's code, message, detail, hint")
    func payload() throws {
        let error = PluginError(.notSharedObject, "/p/libbroken.so: not a shared object", detail: "no ELF magic",
                                hint: "build it with cc -shared", path: "/p/libbroken.so")
        let loaded = ControlDispatcher.pluginJSON(PluginListing(
            name: "hotswap", version: "2", path: "/run/x/abc/libhotswap.so", originalPath: "/p/libhotswap.so",
            abi: "1.0", status: "loaded", error: nil, tasks: ["hotswap.version"]))
        #expect(loaded["status"] == .string("loaded") && loaded["original_path"] == .string("/p/libhotswap.so"))
        #expect(loaded["error"] == .null && loaded["tasks"] == .array([.string("hotswap.version")]))
        let refused = ControlDispatcher.pluginJSON(PluginListing(
            name: "broken", version: nil, path: "/p/libbroken.so", originalPath: nil, abi: "-", status: "refused",
            error: error, tasks: []))
        #expect(refused["version"] == .null && refused["status"] == .string("refused"))
        let e = try #require(refused["error"])
        #expect(e["code"] == .string("PW102") && e["name"] == .string("not-a-shared-object"))
        #expect(e["message"] == .string(error.message) && e["detail"] == .string("no ELF magic") && e["hint"] == .string("build it with cc -shared"))
        #expect(ControlCommandSpec.named("plugins", kind: .inspect) != nil)
        #expect(ControlDispatcher.commands.contains("plugins"))
    }
}
