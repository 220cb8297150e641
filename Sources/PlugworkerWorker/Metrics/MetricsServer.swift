#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging

/// A tiny HTTP/1.1 server for `/metrics` and `/healthz`, run by the Hub: a
/// non-blocking listening socket and its connections are descriptors in
/// the Hub's epoll set, so it needs no thread (the master stays single
/// threaded, and the zygote's fork safety is not at risk).
///
/// One request per connection, answered then closed (`Connection: close`).
/// A connection has `timeout` seconds in all to send its request head and
/// take the response (a Hub `Timer` entry), so a slow or idle client cannot
/// hold it. At most `maxConnections` are open at once: when full, a new
/// connection takes the place of the oldest one still sending its request
/// (so idle connections cannot keep a health probe out), or is closed at
/// once if every one is being answered. The request head is bounded by
/// `HTTPRequestParser.limit`. Responses are written as the socket accepts
/// them (a large `/metrics` waits for writability, never blocks the loop).
public final class MetricsServer {
    /// The address as given (`127.0.0.1`, `::1`, `0.0.0.0`).
    public let host: String
    /// The port bound (the one asked for, or the kernel's choice for 0).
    public private(set) var port: Int
    /// Seconds a connection may stay open.
    public var timeout = 5.0
    public var maxConnections = 16
    /// Answers a parsed request (`MetricsEndpoint.respond` in the worker).
    public var respond: (HTTPRequestHead) -> HTTPResponse = { _ in .text(503, "not ready") }

    let hub: Hub
    let logger: Logger
    private(set) var listenFD: Int32 = -1
    var connections: [Int32: Connection] = [:]
    var readBuffer = [UInt8](repeating: 0, count: 4096)
    var accepted: UInt64 = 0

    final class Connection {
        let fd: Int32
        var parser = HTTPRequestParser()
        var output: [UInt8] = []
        var sent = 0
        var answering = false
        var deadline: Timer.Entry?
        /// Accept order, to find the oldest.
        let serial: UInt64

        init(fd: Int32, serial: UInt64) {
            self.fd = fd
            self.serial = serial
        }
    }

    /// Binds and listens (but does not accept until `start()`).
    /// - Throws: `MetricsServerError`: a bad host, a port in use, an
    ///   address that cannot be bound.
    public init(host: String, port: Int, hub: Hub, logger: Logger) throws(MetricsServerError) {
        self.host = host
        self.port = port
        self.hub = hub
        self.logger = logger
        listenFD = try Self.listen(host: host, port: port)
        self.port = Self.localPort(listenFD) ?? port
    }

    deinit {
        stop()
    }

    /// `host:port`, IPv6 in brackets.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Starts accepting connections in the Hub.
    public func start() throws(MetricsServerError) {
        do {
            try hub.add(listenFD) { [unowned self] _ in self.acceptAll() }
        } catch {
            throw MetricsServerError(.systemCall, "metrics endpoint \(address): cannot watch the listening socket",
                                     detail: error.description, hint: "this is a bug; report it with the log")
        }
    }

    /// Closes the listening socket and every connection.
    public func stop() {
        for fd in Array(connections.keys) { closeConnection(fd) }
        if listenFD >= 0 {
            hub.remove(listenFD)
            close(listenFD)
            listenFD = -1
        }
    }

    // MARK: Connections

    func acceptAll() {
        while listenFD >= 0 {
            let fd = pws_accept_nonblocking(listenFD)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN, EWOULDBLOCK: return
                default:
                    // EMFILE and the like: leave the rest in the backlog
                    // for the next turn rather than spin.
                    logger.warning("metrics endpoint \(address): accept failed: \(String(cString: strerror(errno)))")
                    return
                }
            }
            if connections.count >= maxConnections {
                guard let oldest = connections.values.filter({ !$0.answering }).min(by: { $0.serial < $1.serial }) else {
                    close(fd)
                    continue
                }
                closeConnection(oldest.fd)
            }
            accepted += 1
            let c = Connection(fd: fd, serial: accepted)
            do {
                try hub.add(fd) { [unowned self] events in self.handle(fd: fd, events: events) }
            } catch {
                close(fd)
                continue
            }
            connections[fd] = c
            c.deadline = hub.timer.call(after: timeout) { [weak self, weak c] in
                guard let self, let c, self.connections[c.fd] === c else { return }
                self.timedOut(c)
            }
        }
    }

    func handle(fd: Int32, events: UInt32) {
        guard let c = connections[fd] else { return }
        if c.answering {
            write(c)
            return
        }
        readRequest(c)
    }

    func readRequest(_ c: Connection) {
        while true {
            let n = readBuffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                closeConnection(c.fd)
                return
            }
            if n == 0 {  // the client went away before its head ended
                closeConnection(c.fd)
                return
            }
            switch c.parser.feed(readBuffer[0..<n]) {
            case .incomplete:
                continue
            case .request(let head):
                answer(c, respond(head), includeBody: head.method != "HEAD")
                return
            case .invalid(let status, let reason):
                answer(c, MetricsEndpoint.refusal(status: status, reason: reason), includeBody: true)
                return
            }
        }
    }

    func timedOut(_ c: Connection) {
        if c.answering {
            closeConnection(c.fd)  // it does not read its response
        } else {
            answer(c, .text(408, "request head not received within \(timeout) seconds"), includeBody: true)
            // Whatever fits in the socket now; no second chance.
            if connections[c.fd] === c { closeConnection(c.fd) }
        }
    }

    func answer(_ c: Connection, _ response: HTTPResponse, includeBody: Bool) {
        c.answering = true
        c.output = response.serialized(includeBody: includeBody)
        c.sent = 0
        write(c)
    }

    func write(_ c: Connection) {
        while c.sent < c.output.count {
            let n = c.output.withUnsafeBytes { raw in
                send(c.fd, raw.baseAddress! + c.sent, raw.count - c.sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // Writability only: input arriving now (a body, a
                    // second request) would wake the loop for nothing.
                    hub.setInterest(c.fd, readable: false, writable: true)
                    return
                }
                closeConnection(c.fd)
                return
            }
            c.sent += n
        }
        // All sent: half-close, so that the client reads the end of the
        // response before it sees the connection go.
        shutdown(c.fd, Int32(SHUT_WR))
        closeConnection(c.fd)
    }

    func closeConnection(_ fd: Int32) {
        guard let c = connections.removeValue(forKey: fd) else { return }
        c.deadline?.cancel()
        hub.remove(fd)
        close(fd)
    }

    // MARK: Sockets

    static func listen(host: String, port: Int) throws(MetricsServerError) -> Int32 {
        let name = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard (0...65535).contains(port) else {
            throw MetricsServerError(.cannotBind, "metrics endpoint \(name): port out of range",
                                     detail: "ports are 1 to 65535", hint: "fix --metrics-port")
        }
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        let address = host == "localhost" ? "127.0.0.1" : host
        if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(port).bigEndian
        } else if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = UInt16(port).bigEndian
        } else {
            throw MetricsServerError(.invalidHost, "metrics endpoint \(name): \"\(host)\" is not an IP address",
                                     detail: "--metrics-host takes a numeric IPv4 or IPv6 address (or localhost); names are not resolved",
                                     hint: "use 127.0.0.1 (the default, this machine only), 0.0.0.0 (every interface) or ::1")
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw systemCallError("socket", name) }
        var one: Int32 = 1
        // A worker restarted at once can bind the port while the old
        // connections linger in TIME_WAIT (it does not let two listen).
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if family == AF_INET {
            bound = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            bound = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        if bound != 0 {
            let e = errno
            close(fd)
            let why = "bind: \(String(cString: strerror(e))) (errno \(e))"
            switch e {
            case EADDRINUSE:
                throw MetricsServerError(.addressInUse, "metrics endpoint \(name): the port is in use", detail: why,
                                         hint: "another process listens there (another worker?); choose another --metrics-port, or stop it")
            case EADDRNOTAVAIL, EACCES, EPERM:
                throw MetricsServerError(.cannotBind, "metrics endpoint \(name): cannot bind this address", detail: why,
                                         hint: "use an address of this machine, and a port above 1023 unless privileged")
            default:
                throw MetricsServerError(.systemCall, "metrics endpoint \(name): cannot bind", detail: why,
                                         hint: "check --metrics-host and --metrics-port")
            }
        }
        if Glibc.listen(fd, 16) != 0 {
            let error = systemCallError("listen", name)
            close(fd)
            throw error
        }
        return fd
    }

    static func systemCallError(_ call: String, _ name: String) -> MetricsServerError {
        let e = errno
        return MetricsServerError(.systemCall, "metrics endpoint \(name): \(call) failed",
                                  detail: "\(call): \(String(cString: strerror(e))) (errno \(e))",
                                  hint: "check the process's descriptor limit (ulimit -n)")
    }

    /// The port a socket is bound to.
    static func localPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        return withUnsafePointer(to: &storage) { p -> Int in
            if Int32(p.pointee.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }
}
