#if canImport(Glibc)
import Glibc
#endif

/// The lock that keeps a second beat off the same schedule: an exclusive
/// `flock` on `<state>.lock`, holding the owner's pid for the message a
/// second beat prints. The kernel drops it when the process dies, so a
/// crashed beat never leaves a stale lock behind.
public final class BeatLock {
    public let path: String
    private var fd: Int32

    /// Takes the lock for the state file `statePath`.
    /// - Throws: `.locked` naming the other beat's pid, or `.stateWrite`
    ///   when the lock file cannot be opened.
    public init(statePath: String) throws(BeatError) {
        path = statePath + ".lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BeatError(.stateWrite, "cannot open the beat lock \(path): \(String(cString: strerror(errno)))",
                            hint: "make the state file's directory writable, or choose another file with -s/--schedule")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, buf.count, 0)
            let owner = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "?" : "?"
            close(fd)
            fd = -1
            throw BeatError(.locked, "another beat (pid \(owner)) is already running this schedule: \(path) is locked",
                            hint: "run one beat per schedule; stop the other one, or give this one its own state file with -s")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock (also released when the process exits).
    public func release() {
        guard fd >= 0 else { return }
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
