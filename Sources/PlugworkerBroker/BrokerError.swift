/// Why talking to the broker failed.
///
/// Each error has a stable code (`PW2nn`, never reused), a one-line message
/// naming the object (the masked broker URL, a queue, an exchange), a detail
/// with what the broker or the library said, and a hint telling the operator
/// what to do. Passwords never appear: messages only ever show
/// `BrokerURL.masked`.
///
/// When the broker closed the channel or the connection, `replyCode` and
/// `replyText` carry its reply (`406`, `"PRECONDITION_FAILED - …"`), and
/// `classID`/`methodID` name the AMQP method it objected to.
public struct BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable error code. Compare with `==`; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let number: Int
        public let name: String

        public var description: String { "PW\(number) \(name)" }

        /// The broker URL could not be parsed.
        public static let invalidURL = Code(number: 201, name: "invalid-url")
        /// Nothing listens on the broker's host and port (ECONNREFUSED).
        public static let connectionRefused = Code(number: 202, name: "connection-refused")
        /// The broker's host name does not resolve.
        public static let hostNotFound = Code(number: 203, name: "host-not-found")
        /// Connecting, logging in or an RPC took longer than allowed.
        public static let timeout = Code(number: 204, name: "timeout")
        /// Another socket error while connecting (unreachable network, reset, …).
        public static let connectionFailed = Code(number: 205, name: "connection-failed")
        /// The broker refused the user name or password (403 ACCESS_REFUSED).
        public static let authenticationFailed = Code(number: 206, name: "authentication-failed")
        /// The virtual host does not exist (530 NOT_ALLOWED at connection.open).
        public static let vhostNotFound = Code(number: 207, name: "vhost-not-found")
        /// The user may not use the virtual host (530 NOT_ALLOWED at connection.open).
        public static let vhostAccessRefused = Code(number: 208, name: "vhost-access-refused")
        /// TLS could not be set up: certificate files, handshake, peer or host
        /// name verification.
        public static let tls = Code(number: 209, name: "tls")
        /// The broker closed channel 1 (`replyCode` says why, e.g. 404, 406).
        /// The connection is still usable; channel 1 was reopened.
        public static let channelClosed = Code(number: 210, name: "channel-closed")
        /// The broker closed the connection (`replyCode` says why, e.g. 320
        /// CONNECTION_FORCED). The connection is unusable.
        public static let connectionClosed = Code(number: 211, name: "connection-closed")
        /// The socket failed or reached end of file. The connection is unusable.
        public static let connectionLost = Code(number: 212, name: "connection-lost")
        /// Nothing came from the broker for two heartbeat intervals.
        public static let heartbeatTimeout = Code(number: 213, name: "heartbeat-timeout")
        /// The broker or the library broke the protocol (bad frame, unexpected
        /// method). The connection is unusable.
        public static let protocolError = Code(number: 214, name: "protocol-error")
        /// The connection is not open (never connected, closed, or abandoned).
        public static let notOpen = Code(number: 215, name: "not-open")
        /// An argument cannot be sent (a short string over 255 bytes, a table
        /// too big for a frame, …). Nothing was sent; the connection is fine.
        public static let invalidArgument = Code(number: 216, name: "invalid-argument")
    }

    public var code: Code
    /// One line naming the object: `amqp://guest:**@localhost:5672//: connection refused`.
    public var message: String
    /// The specifics: what the broker or the library said.
    public var detail: String
    /// What to do about it.
    public var hint: String
    /// The broker's reply code for channel.close / connection.close (404, 406, 320, …).
    public var replyCode: UInt16?
    /// The broker's reply text, e.g. `"PRECONDITION_FAILED - inequivalent arg 'durable' …"`.
    public var replyText: String?
    /// The AMQP class of the method the broker objected to (e.g. 50 = queue), if any.
    public var classID: UInt16?
    /// The AMQP method the broker objected to (e.g. 10 = declare), if any.
    public var methodID: UInt16?
    /// The rabbitmq-c status code (`AMQP_STATUS_*`) behind a library error, if any.
    public var libraryStatus: Int32?

    public init(_ code: Code, _ message: String, detail: String, hint: String,
                replyCode: UInt16? = nil, replyText: String? = nil,
                classID: UInt16? = nil, methodID: UInt16? = nil, libraryStatus: Int32? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.replyCode = replyCode
        self.replyText = replyText
        self.classID = classID
        self.methodID = methodID
        self.libraryStatus = libraryStatus
    }

    /// True when the connection can no longer be used after this error
    /// (reconnect with a new `connect()`); false when only the operation (or
    /// channel 1, which was reopened) failed.
    public var isConnectionFatal: Bool {
        switch code {
        case .channelClosed, .invalidArgument, .invalidURL: return false
        default: return true
        }
    }

    /// Three lines: `error PW210 channel-closed: …`, `  detail: …`, `  hint: …`.
    public var description: String {
        "error \(code): \(message)\n  detail: \(detail)\n  hint: \(hint)"
    }

    /// One line, for log records.
    public var logLine: String { "\(code): \(message) — \(detail) (hint: \(hint))" }
}
