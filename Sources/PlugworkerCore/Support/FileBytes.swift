#if canImport(Glibc)
import Glibc
#endif

/// Reading a whole (small) file: plugin copies, tz files, config and state.
public enum FileBytes {
    /// The file's bytes, or nil if it cannot be opened or read (`errno`
    /// says why) or is longer than `limit` bytes.
    public static func read(_ path: String, limit: Int = Int.max) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit {
                errno = EFBIG
                return nil
            }
        }
    }

    /// Why `replace` failed: the system call and its errno.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        public var call: String
        public var errnoValue: Int32
        public var description: String { "\(call): \(String(cString: strerror(errnoValue)))" }
    }

    /// Replaces the file at `path` with `bytes` atomically: written beside
    /// it under a temporary name, flushed to disk, given `mode`, renamed
    /// over, and the directory flushed, so a crash leaves the old file or
    /// the new one, never a torn one. On failure the old file is intact and
    /// the temporary one removed.
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(WriteError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (slash == nil ? "" : dir + "/") + "." + name + ".tmp"
        func fail(_ call: String, closing fd: Int32 = -1) -> WriteError {
            let error = WriteError(call: call, errnoValue: errno)
            if fd >= 0 { close(fd) }
            unlink(temporary)
            return error
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(call: "open", errnoValue: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw fail("write", closing: fd) }
            written += n
        }
        guard fsync(fd) == 0 else { throw fail("fsync", closing: fd) }
        guard fchmod(fd, mode) == 0 else { throw fail("fchmod", closing: fd) }
        close(fd)
        guard rename(temporary, path) == 0 else { throw fail("rename") }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}
