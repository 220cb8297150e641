import Glibc

/// Finds out why a TCP connect failed. rabbitmq-c 0.11 reports every failed
/// connect as `AMQP_STATUS_SOCKET_ERROR` and loses errno (it reads the
/// error with `SO_ERROR` and then closes the socket), so after such a
/// failure the connection asks the system once more, to tell "refused"
/// (the broker is not running) from "unreachable" and the rest.
enum SocketDiagnosis {
    /// The errno of a plain blocking connect to `host:port` (trying each
    /// address), or 0 when one connected (the connection is closed at once).
    static func connectErrno(host: String, port: Int, timeout: Double) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return 0 }
        defer { freeaddrinfo(first) }
        var lastError: Int32 = 0
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            // Linux bounds a blocking connect by SO_SNDTIMEO.
            var tv = AMQPConnection.timeval(seconds: max(timeout, 0.1))
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let rc = connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
            let err = errno
            close(fd)
            if rc == 0 { return 0 }
            lastError = (err == EINPROGRESS || err == EAGAIN) ? ETIMEDOUT : err
        }
        return lastError
    }
}
