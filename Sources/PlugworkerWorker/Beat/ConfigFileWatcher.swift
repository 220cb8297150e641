#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem

/// Tells when one file is written or replaced, through inotify on its
/// directory (editors and `mv` replace the file, so a watch on the file's
/// own inode would miss the change). Beat reloads its schedule with it.
final class ConfigFileWatcher {
    let path: String
    /// The inotify descriptor, for the Hub.
    let fd: Int32
    private let name: String

    /// Nil when inotify is not available (the schedule then reloads on HUP only).
    init?(path: String) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        fd = pws_inotify_init()
        guard fd >= 0 else { return nil }
        let mask = UInt32(PWS_IN_CLOSE_WRITE | PWS_IN_MOVED_TO | PWS_IN_CREATE)
        if pws_inotify_add_watch(fd, dir.isEmpty ? "/" : dir, mask) < 0 {
            close(fd)
            return nil
        }
    }

    /// Reads the pending events; true if one was about the file.
    func changed() -> Bool {
        var hit = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return hit }
            let events = buffer.withUnsafeBytes { InotifyEvent.parse(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if events.contains(where: { $0.name == name }) { hit = true }
        }
    }

    deinit { close(fd) }
}
