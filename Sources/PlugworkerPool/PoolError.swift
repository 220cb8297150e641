#if canImport(Glibc)
import Glibc
#endif

/// Why the pool could not do what was asked: a system call that failed, with
/// its name and errno.
public struct PoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system call that failed, e.g. `fork`.
    public var call: String
    /// Its errno.
    public var errno: Int32
    /// What the pool was doing.
    public var context: String

    public init(call: String, errno: Int32, context: String) {
        self.call = call
        self.errno = errno
        self.context = context
    }

    public var description: String {
        "\(context): \(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
