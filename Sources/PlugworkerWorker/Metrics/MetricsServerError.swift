/// Why the metrics endpoint could not be served.
///
/// Each error has a stable code (`PW4nn`, never reused), a one-line message
/// naming the address, a detail (the system's words and errno) and a hint.
/// The worker logs it and exits with `Worker.ExitStatus.startFailed` (70):
/// a worker asked for metrics that cannot serve them would look healthy to
/// nobody, so it does not start half-configured.
public struct MetricsServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable error code. Compare with `==`; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let number: Int
        public let name: String

        public var description: String { "PW\(number) \(name)" }

        /// `--metrics-host` is not a numeric IPv4 or IPv6 address (or `localhost`).
        public static let invalidHost = Code(number: 401, name: "invalid-metrics-host")
        /// Another process (or another worker) listens on the port (EADDRINUSE).
        public static let addressInUse = Code(number: 402, name: "metrics-port-in-use")
        /// The address is not this machine's, or binding is not permitted
        /// (EADDRNOTAVAIL, EACCES).
        public static let cannotBind = Code(number: 403, name: "metrics-cannot-bind")
        /// Another system call failed (socket, listen, epoll).
        public static let systemCall = Code(number: 404, name: "metrics-system-call")
    }

    public var code: Code
    /// One line naming the address: `metrics endpoint 127.0.0.1:9808: port in use`.
    public var message: String
    public var detail: String
    public var hint: String

    public init(_ code: Code, _ message: String, detail: String, hint: String) {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    /// Three lines: `error PW402 metrics-port-in-use: …`, `  detail: …`, `  hint: …`.
    public var description: String {
        "error \(code): \(message)\n  detail: \(detail)\n  hint: \(hint)"
    }
}
