import CRabbitMQ
import Glibc
import Logging
import PlugworkerCore

/// One AMQP 0-9-1 connection to RabbitMQ over rabbitmq-c, with one channel
/// (channel 1).
///
/// ## Threading
/// Single-threaded: create it, call it and destroy it on one thread (the
/// Hub's). It is deliberately not `Sendable`. rabbitmq-c's connection state
/// has no locks.
///
/// ## The event-loop contract
/// - Register `fileDescriptor` for reading in epoll.
/// - On every wake-up, and **before every blocking wait**, drain: call
///   `nextEvent(timeout: 0)` until it returns nil. rabbitmq-c reads the
///   socket in 128 KB gulps, so several deliveries can sit in its buffer
///   while the socket is not readable; an RPC (`basicQos`, a declare) can
///   also park deliveries in its frame queue. `hasBufferedData` tells whether
///   anything is left; block in epoll only when it is false.
/// - **Heartbeats**: rabbitmq-c has no timer of its own. It sends a
///   heartbeat frame only from inside a call that reads (`nextEvent`, an
///   RPC method), and only when nothing at all was sent for a full
///   `negotiatedHeartbeat` interval (publishes and acks count as traffic,
///   but an idle worker sends none). RabbitMQ drops a connection it has not
///   heard from for about two intervals. So the loop must call
///   `nextEvent(timeout: 0)` at least every `negotiatedHeartbeat / 2`
///   seconds, even when idle: wake epoll with a timeout (or a timerfd) of
///   half the heartbeat. A Hub that blocks in epoll without a timeout loses
///   the connection after about two heartbeat intervals of quiet.
/// - Missing broker heartbeats are only noticed by calls that wait
///   (`nextEvent` with a timeout, RPCs): with `timeout: 0` rabbitmq-c never
///   declares a heartbeat timeout. A dead peer still shows up as a socket
///   error or end of file, which epoll reports as readable.
///
/// ## Errors and channel 1
/// When the broker closes channel 1 (404 NOT_FOUND for a missing queue, 406
/// PRECONDITION_FAILED for a redeclare with other arguments or an unknown
/// delivery tag, 403 ACCESS_REFUSED…), the method that caused it throws
/// `BrokerError` with code `.channelClosed` and the broker's `replyCode`;
/// the connection stays usable: the close is acknowledged and channel 1 is
/// reopened at once. But **everything that belonged to the old channel is
/// gone**: consumers, `basicQos`, confirm mode, and every unacked delivery
/// (the broker requeues them; their delivery tags are void, and acking one on
/// the new channel would close it again). `channelGeneration` counts the
/// reopenings, and the next `nextEvent` reports `.channelClosed` so that the
/// event loop can re-consume. When the broker closes the connection
/// (`.connectionClosed`, e.g. 320 CONNECTION_FORCED), or the socket fails,
/// the connection is unusable: `isOpen` becomes false, and `connect()` may be
/// called again.
///
/// ## Forked children
/// A process forked while this connection is open inherits its socket. The
/// child must call `abandon()` (closes its copy of the descriptor and
/// nothing else) and must never call anything else on it.
public final class AMQPConnection {
    /// Where to connect. Shown masked in every message.
    public let url: BrokerURL
    /// The heartbeat interval requested at login, in seconds (0 disables).
    public let heartbeat: Int
    /// The largest frame requested at login, in bytes.
    public let frameMax: Int
    /// Shown in the RabbitMQ management UI and `rabbitmqctl list_connections
    /// user_provided_name`.
    public let connectionName: String?
    /// TLS settings for `amqps://`.
    public let tls: TLSOptions
    /// How long an RPC (declare, bind, qos, consume, …) may wait for its
    /// reply before the connection is given up; nil waits forever (heartbeats
    /// still detect a dead broker during the wait).
    public let rpcTimeout: Double?
    public var logger: Logger

    /// The one channel this connection uses.
    static let channel: amqp_channel_t = 1

    var state: amqp_connection_state_t?
    /// Arena for outgoing strings and tables; recycled after each method.
    let scratch = AMQPPool()
    /// Events found while recovering a channel or reported after an RPC,
    /// returned by `nextEvent` before anything else.
    var pending: [BrokerEvent] = []

    /// True from a successful `connect()` until `close()`, `abandon()` or a
    /// connection-fatal error.
    public internal(set) var isOpen = false
    /// How many times channel 1 was reopened after the broker closed it.
    /// Delivery tags from an earlier generation are void.
    public internal(set) var channelGeneration = 0
    /// The consumer tags currently consuming on channel 1.
    public internal(set) var consumerTags: Set<String> = []
    /// True between `.blocked` and `.unblocked`.
    public internal(set) var isBlocked = false
    /// True after `confirmSelect()` (until the channel is reopened).
    public internal(set) var isConfirmMode = false
    /// The sequence number of the last message published in confirm mode.
    public internal(set) var publishSequence: UInt64 = 0
    /// The broker's properties from connection.start (product, version,
    /// capabilities, cluster_name, …). Empty before `connect()`.
    public internal(set) var serverProperties = JSONObject()

    /// Creates a connection object; nothing happens on the network until
    /// `connect(timeout:)`.
    /// - Parameters:
    ///   - heartbeat: seconds; Celery's default `broker_heartbeat` is 120.
    ///     The broker may lower it; see `negotiatedHeartbeat`.
    ///   - frameMax: bytes; 131072 is RabbitMQ's default.
    ///   - connectionName: the `connection_name` client property.
    ///   - tls: CA file, client certificate and verification for `amqps://`.
    ///   - rpcTimeout: see `rpcTimeout`.
    public init(url: BrokerURL, heartbeat: Int = 120, frameMax: Int = 131_072, connectionName: String? = nil,
                tls: TLSOptions = TLSOptions(), rpcTimeout: Double? = nil,
                logger: Logger = Logger(label: "plugworker.broker")) {
        self.url = url
        self.heartbeat = max(0, heartbeat)
        self.frameMax = frameMax
        self.connectionName = connectionName
        self.tls = tls
        self.rpcTimeout = rpcTimeout
        self.logger = logger
    }

    deinit {
        // No protocol close here (it could block); call close() for an
        // orderly shutdown. Destroying closes the socket.
        if let state { amqp_destroy_connection(state) }
    }

    // MARK: - State

    /// The socket's file descriptor, for epoll; -1 when not open.
    public var fileDescriptor: Int32 {
        guard let state else { return -1 }
        return amqp_get_sockfd(state)
    }

    /// The heartbeat interval agreed with the broker, in seconds (0: none).
    public var negotiatedHeartbeat: Int {
        guard let state else { return 0 }
        return Int(amqp_get_heartbeat(state))
    }

    /// The largest frame agreed with the broker, in bytes.
    public var negotiatedFrameMax: Int {
        guard let state else { return 0 }
        return Int(amqp_get_frame_max(state))
    }

    /// True when `nextEvent(timeout: 0)` has something to return without
    /// reading the socket: bytes in rabbitmq-c's input buffer, frames in its
    /// queue (parked by an RPC), or events found during a channel recovery.
    /// Drain until false before blocking in epoll.
    public var hasBufferedData: Bool {
        guard let state else { return false }
        return !pending.isEmpty || amqp_data_in_buffer(state) != 0 || amqp_frames_enqueued(state) != 0
    }

    // MARK: - Connecting

    /// Opens the TCP (or TLS) connection, logs in with SASL PLAIN and opens
    /// channel 1. Calling it again after the connection was lost or closed
    /// starts afresh.
    /// - Parameter timeout: seconds allowed for the TCP connect and, again,
    ///   for the login handshake.
    /// - Throws: `BrokerError` with code `.connectionRefused`,
    ///   `.hostNotFound`, `.timeout`, `.connectionFailed`, `.tls`,
    ///   `.authenticationFailed`, `.vhostNotFound`, `.vhostAccessRefused`,
    ///   `.connectionClosed`, `.connectionLost` or `.protocolError`, each with
    ///   a hint. Nothing stays open after a failure.
    public func connect(timeout: Double = 10) throws(BrokerError) {
        if state != nil { teardown() }
        guard let st = amqp_new_connection() else {
            throw BrokerError(.connectionFailed, "cannot connect to \(url.masked)",
                              detail: "amqp_new_connection returned NULL (out of memory)", hint: "free some memory")
        }
        state = st
        pending.removeAll()
        consumerTags.removeAll()
        isBlocked = false
        isConfirmMode = false
        publishSequence = 0
        do throws(BrokerError) {
            try openSocket(st, timeout: timeout)
            try login(st, timeout: timeout)
            if let rpcTimeout {
                var tv = Self.timeval(seconds: rpcTimeout)
                amqp_set_rpc_timeout(st, &tv)
            }
            isOpen = true
            _ = amqp_channel_open(st, Self.channel)
            try checkOpenReply("opening channel 1")
        } catch {
            teardown()
            throw error
        }
        scratch.recycle()
        logger.debug("Connected to \(url.masked) (heartbeat \(negotiatedHeartbeat) s, frame_max \(negotiatedFrameMax))")
    }

    private func openSocket(_ st: amqp_connection_state_t, timeout: Double) throws(BrokerError) {
        let socket: OpaquePointer?
        if url.isTLS {
            socket = amqp_ssl_socket_new(st)
            guard let socket else {
                throw BrokerError(.tls, "cannot set up TLS for \(url.masked)",
                                  detail: "amqp_ssl_socket_new returned NULL (OpenSSL could not be initialised)",
                                  hint: "check that libssl is installed and working")
            }
            try configureTLS(socket)
        } else {
            socket = amqp_tcp_socket_new(st)
        }
        guard let socket else {
            throw BrokerError(.connectionFailed, "cannot connect to \(url.masked)",
                              detail: "amqp_tcp_socket_new returned NULL (out of memory)", hint: "free some memory")
        }
        var tv = Self.timeval(seconds: timeout)
        let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &tv)
        guard status != AMQP_STATUS_OK.rawValue else { return }
        throw connectFailure(status, timeout: timeout)
    }

    private func configureTLS(_ socket: OpaquePointer) throws(BrokerError) {
        // rabbitmq-c 0.11 does not load OpenSSL's default trust store: a CA
        // file is needed to verify the peer.
        var caFile = tls.caFile
        if caFile == nil && tls.verifyPeer {
            caFile = TLSOptions.systemCAFiles.first(where: { access($0, R_OK) == 0 })
            if caFile == nil {
                throw BrokerError(.tls, "no CA certificates to verify \(url.masked) with",
                                  detail: "none of \(TLSOptions.systemCAFiles.joined(separator: ", ")) is readable",
                                  hint: "install ca-certificates, or pass the CA file that signed the broker's certificate")
            }
        }
        if let caFile {
            let rc = amqp_ssl_socket_set_cacert(socket, caFile)
            guard rc == AMQP_STATUS_OK.rawValue else {
                throw BrokerError(.tls, "cannot load CA file \"\(caFile)\" for \(url.masked)",
                                  detail: "rabbitmq-c: \(libraryErrorString(rc))",
                                  hint: "the CA file must exist, be readable and hold PEM certificates",
                                  libraryStatus: rc)
            }
        }
        if let cert = tls.certificateFile {
            guard let key = tls.keyFile else {
                throw BrokerError(.tls, "client certificate \"\(cert)\" has no key",
                                  detail: "a client certificate was given without its private key",
                                  hint: "give the key file too")
            }
            let rc = amqp_ssl_socket_set_key(socket, cert, key)
            guard rc == AMQP_STATUS_OK.rawValue else {
                throw BrokerError(.tls, "cannot load client certificate \"\(cert)\" with key \"\(key)\"",
                                  detail: "rabbitmq-c: \(libraryErrorString(rc))",
                                  hint: "both files must be readable PEM, and the key must match the certificate",
                                  libraryStatus: rc)
            }
        }
        amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
        amqp_ssl_socket_set_verify_hostname(socket, tls.verifyHostname ? 1 : 0)
    }

    private func connectFailure(_ status: Int32, timeout: Double) -> BrokerError {
        let target = "\(url.host):\(url.port)"
        switch status {
        case AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED.rawValue:
            return BrokerError(.hostNotFound, "cannot resolve the broker host \"\(url.host)\" of \(url.masked)",
                               detail: "getaddrinfo failed for \(target)",
                               hint: "check the host in --broker / CELERY_BROKER_URL", libraryStatus: status)
        case AMQP_STATUS_TIMEOUT.rawValue:
            return BrokerError(.timeout, "connecting to \(url.masked) timed out",
                               detail: "no answer from \(target) within \(timeout) s",
                               hint: "is the broker reachable from here? a firewall may be dropping packets",
                               libraryStatus: status)
        case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue:
            return BrokerError(.tls, "the TLS certificate of \(url.masked) does not name \"\(url.host)\"",
                               detail: "rabbitmq-c: \(libraryErrorString(status))",
                               hint: "connect with the host name the certificate was issued for",
                               libraryStatus: status)
        case AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue:
            return BrokerError(.tls, "the TLS certificate of \(url.masked) is not trusted",
                               detail: "rabbitmq-c: \(libraryErrorString(status))",
                               hint: "pass the CA file that signed the broker's certificate",
                               libraryStatus: status)
        case AMQP_STATUS_SSL_ERROR.rawValue, AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue,
             AMQP_STATUS_SSL_SET_ENGINE_FAILED.rawValue:
            return BrokerError(.tls, "TLS handshake with \(url.masked) failed",
                               detail: "rabbitmq-c: \(libraryErrorString(status))",
                               hint: "is \(url.port) a TLS listener (RabbitMQ uses 5671)? amqps:// needs one; use amqp:// for a plain port",
                               libraryStatus: status)
        default:
            // rabbitmq-c 0.11 loses errno on a failed connect: ask the
            // system again to say "refused" rather than "socket error".
            let err = SocketDiagnosis.connectErrno(host: url.host, port: url.port, timeout: min(timeout, 5))
            if err == ECONNREFUSED {
                return BrokerError(.connectionRefused, "connection to \(url.masked) refused",
                                   detail: "nothing listens on \(target) (ECONNREFUSED)",
                                   hint: "is RabbitMQ running? scripts/setup.sh starts one (or: rabbitmq-server -detached)",
                                   libraryStatus: status)
            }
            if err == ETIMEDOUT {
                return BrokerError(.timeout, "connecting to \(url.masked) timed out",
                                   detail: "no answer from \(target) within \(timeout) s",
                                   hint: "is the broker reachable from here? a firewall may be dropping packets",
                                   libraryStatus: status)
            }
            let why = err == 0 ? "rabbitmq-c: \(libraryErrorString(status))" : "\(String(cString: strerror(err))) (errno \(err))"
            return BrokerError(.connectionFailed, "cannot connect to \(url.masked)",
                               detail: "\(target): \(why)",
                               hint: "check the host and port in --broker / CELERY_BROKER_URL and the network",
                               libraryStatus: status)
        }
    }

    private func login(_ st: amqp_connection_state_t, timeout: Double) throws(BrokerError) {
        var tv = Self.timeval(seconds: timeout)
        amqp_set_handshake_timeout(st, &tv)
        scratch.recycle()
        var properties = try AMQPTable.table(from: clientProperties, in: scratch)
        let reply = url.virtualHost.withCString { vhost in
            url.user.withCString { user in
                url.password.withCString { password in
                    cramqp_login_plain(st, vhost, 0, Int32(frameMax), Int32(heartbeat), &properties, user, password)
                }
            }
        }
        scratch.recycle()
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            if let server = amqp_get_server_properties(st) {
                serverProperties = AMQPTable.json(from: server.pointee)
            }
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.connectionClose:
            let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let code = close.reply_code
            let text = close.reply_text.string
            var ok = amqp_connection_close_ok_t(dummy: 0)
            _ = amqp_send_method(st, 0, AMQPMethod.connectionCloseOk, &ok)
            switch code {
            case 403:
                throw BrokerError(.authenticationFailed,
                                  "the broker refused the login of user \"\(url.user)\" at \(url.masked)",
                                  detail: "\(code) \(text)",
                                  hint: "check the user name and password in --broker / CELERY_BROKER_URL (rabbitmqctl list_users shows the users)",
                                  replyCode: code, replyText: text)
            case 530 where text.contains("not found"):
                throw BrokerError(.vhostNotFound, "virtual host \"\(url.virtualHost)\" does not exist at \(url.masked)",
                                  detail: "\(code) \(text)",
                                  hint: "create it (rabbitmqctl add_vhost \(url.virtualHost)) or fix the path of the URL: amqp://host// is vhost \"/\"",
                                  replyCode: code, replyText: text)
            case 530:
                throw BrokerError(.vhostAccessRefused,
                                  "user \"\(url.user)\" may not use virtual host \"\(url.virtualHost)\" at \(url.masked)",
                                  detail: "\(code) \(text)",
                                  hint: "grant access: rabbitmqctl set_permissions -p \(url.virtualHost) \(url.user) '.*' '.*' '.*'",
                                  replyCode: code, replyText: text)
            default:
                throw BrokerError(.connectionClosed, "the broker closed the connection to \(url.masked) during login",
                                  detail: "\(code) \(text)", hint: "the broker log says more",
                                  replyCode: code, replyText: text)
            }
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let status = reply.library_error
            switch status {
            case AMQP_STATUS_TIMEOUT.rawValue:
                throw BrokerError(.timeout, "logging in to \(url.masked) timed out",
                                  detail: "the AMQP handshake did not finish within \(timeout) s",
                                  hint: "is this port an AMQP listener? a TLS port needs amqps://", libraryStatus: status)
            case AMQP_STATUS_CONNECTION_CLOSED.rawValue, AMQP_STATUS_SOCKET_ERROR.rawValue,
                 AMQP_STATUS_SOCKET_CLOSED.rawValue:
                throw BrokerError(.connectionLost, "the broker closed the connection to \(url.masked) during login",
                                  detail: "rabbitmq-c: \(libraryErrorString(status))",
                                  hint: "wrong credentials on a broker that closes without saying why, a TLS port reached with amqp://, or a broker shutting down; its log says which",
                                  libraryStatus: status)
            case AMQP_STATUS_BROKER_UNSUPPORTED_SASL_METHOD.rawValue:
                throw BrokerError(.authenticationFailed, "the broker at \(url.masked) does not accept PLAIN logins",
                                  detail: "rabbitmq-c: \(libraryErrorString(status))",
                                  hint: "enable the PLAIN mechanism (auth_mechanisms) on the broker", libraryStatus: status)
            default:
                throw BrokerError(.protocolError, "logging in to \(url.masked) failed",
                                  detail: "rabbitmq-c: \(libraryErrorString(status))",
                                  hint: "is this port an AMQP 0-9-1 listener?", libraryStatus: status)
            }
        default:
            throw BrokerError(.protocolError, "logging in to \(url.masked) failed",
                              detail: "unexpected reply (type \(reply.reply_type.rawValue), method 0x\(String(reply.reply.id, radix: 16)))",
                              hint: "is this port an AMQP 0-9-1 listener?")
        }
    }

    /// The client properties sent at login. `consumer_cancel_notify` makes
    /// RabbitMQ send basic.cancel when a queue we consume is deleted;
    /// `authentication_failure_close` makes it say 403 instead of just
    /// closing the socket on a bad password.
    var clientProperties: JSONObject {
        var props = JSONObject()
        props["product"] = "plugworker"
        props["version"] = "0.1.0"
        props["platform"] = "Swift"
        props["information"] = .string("plugworker: a Celery worker whose tasks are native code; rabbitmq-c \(String(cString: amqp_version()))")
        if let connectionName { props["connection_name"] = .string(connectionName) }
        props["capabilities"] = [
            "publisher_confirms": true,
            "exchange_exchange_bindings": true,
            "basic.nack": true,
            "consumer_cancel_notify": true,
            "connection.blocked": true,
            "authentication_failure_close": true,
        ]
        return props
    }

    // MARK: - Closing

    /// Closes channel 1 and the connection in order (the broker requeues
    /// unacked messages at once), then releases everything. Never throws:
    /// a failure on the way only means the socket is closed harder. Safe to
    /// call more than once.
    public func close() {
        guard let st = state else { return }
        if isOpen {
            let r1 = amqp_channel_close(st, Self.channel, Int32(AMQP_REPLY_SUCCESS))
            if r1.reply_type == AMQP_RESPONSE_NORMAL {
                let r2 = amqp_connection_close(st, Int32(AMQP_REPLY_SUCCESS))
                if r2.reply_type != AMQP_RESPONSE_NORMAL {
                    logger.debug("connection.close to \(url.masked) failed (reply type \(r2.reply_type.rawValue))")
                }
            } else {
                logger.debug("channel.close to \(url.masked) failed (reply type \(r1.reply_type.rawValue))")
            }
        }
        teardown()
    }

    /// For a forked child: closes this process's copy of the socket and
    /// forgets the connection without any rabbitmq-c call, so nothing is
    /// sent or freed. The parent's connection is unaffected, and when the
    /// parent dies the broker sees the socket close (a child that kept the
    /// descriptor would keep the connection, and its unacked messages,
    /// alive). The state memory is leaked on purpose: it is the parent's
    /// copy, and the child should leave with `_exit` anyway.
    public func abandon() {
        guard let st = state else { return }
        let fd = amqp_get_sockfd(st)  // reads a field; no I/O
        if fd >= 0 { _ = Glibc.close(fd) }
        state = nil
        isOpen = false
        pending.removeAll()
        consumerTags.removeAll()
    }

    /// Releases the connection without a protocol close.
    func teardown() {
        if let st = state { amqp_destroy_connection(st) }
        state = nil
        isOpen = false
        consumerTags.removeAll()
        isConfirmMode = false
        isBlocked = false
    }

    // MARK: - Helpers

    static func timeval(seconds: Double) -> Glibc.timeval {
        let s = max(0, seconds)
        let whole = s.rounded(.down)
        return Glibc.timeval(tv_sec: Int(whole), tv_usec: Int((s - whole) * 1_000_000))
    }

    /// Monotonic clock in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
