#if canImport(Glibc)
import Glibc
#endif

/// The system calls the pool makes, each wrapped once: retried on EINTR,
/// errors returned as `PoolError` or a plain result the caller checks.
enum System {
    /// A pair of connected UNIX sockets of `type` (`SOCK_STREAM`,
    /// `SOCK_SEQPACKET`), close-on-exec.
    static func socketPair(_ type: __socket_type, context: String) throws(PoolError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) != 0 {
            throw PoolError(call: "socketpair", errno: errno, context: context)
        }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Bounds how long a blocking send may wait for the peer to read.
    static func setSendTimeout(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `bytes` (blocking, no SIGPIPE). Returns how many bytes
    /// went out and, if not all, the errno that stopped it.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> (sent: Int, errno: Int32) {
        bytes.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                let n = send(fd, buf.baseAddress! + done, buf.count - done, Int32(MSG_NOSIGNAL))
                if n > 0 {
                    done += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return (done, n == 0 ? EPIPE : errno)
                }
            }
            return (done, 0)
        }
    }

    /// Closes every descriptor of this process but 0, 1, 2 and `keep`,
    /// walking `/proc/self/fd` (a forked child inherits whatever its parent
    /// had open: broker sockets, siblings' pool sockets, epoll, signalfd).
    static func closeInheritedDescriptors(keeping keep: Set<Int32>) {
        guard let dir = opendir("/proc/self/fd") else {
            // No /proc: close a generous range instead.
            for fd in Int32(3)..<Int32(4096) where !keep.contains(fd) { close(fd) }
            return
        }
        let own = dirfd(dir)
        var open: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let fd = Int32(name), fd > 2, fd != own, !keep.contains(fd) { open.append(fd) }
        }
        closedir(dir)
        for fd in open { close(fd) }
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func errorText(_ e: Int32) -> String { String(cString: strerror(e)) }
}
