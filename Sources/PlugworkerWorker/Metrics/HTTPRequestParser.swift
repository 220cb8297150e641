/// Reads the head of one HTTP/1.x request, as the metrics endpoint needs it:
/// the method and the path of the request line, then everything up to the
/// blank line that ends the headers (their contents are not needed, but
/// they must be read: closing a socket with unread input makes the kernel
/// send a reset, and the client may lose the response).
///
/// Bytes are fed as they arrive; nothing is buffered past `limit`. A request
/// with a body is answered anyway (GET and HEAD have none; any other method
/// gets 405 and the connection is closed).
///
///     var parser = HTTPRequestParser()
///     switch parser.feed(bytes) {
///     case .incomplete: wait for more
///     case .request(let r): answer r.method, r.path
///     case .invalid(let status, let reason): answer status, close
///     }
public struct HTTPRequestParser: Sendable {
    /// What `feed` made of the bytes so far.
    public enum Result: Sendable, Equatable {
        /// The head has not ended yet: feed more.
        case incomplete
        /// The head is complete.
        case request(HTTPRequestHead)
        /// The request cannot be served: answer with `status` and close.
        /// `reason` names what was wrong, for the response body.
        case invalid(status: Int, reason: String)
    }

    /// The most bytes a request head may have (request line and headers).
    public let limit: Int
    private var buffer: [UInt8] = []
    private var done: Result?

    /// - Parameter limit: the head's size limit in bytes (default 8 KiB,
    ///   like most servers' request line limit).
    public init(limit: Int = 8192) {
        self.limit = limit
    }

    /// Adds bytes read from the connection. Once a result other than
    /// `.incomplete` was returned, later calls return it again and ignore
    /// their bytes.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> Result {
        if let done { return done }
        let searchFrom = max(0, buffer.count - 3)
        buffer.append(contentsOf: bytes)
        guard let end = Self.endOfHead(buffer, from: searchFrom) else {
            if buffer.count > limit {
                return finish(.invalid(status: 431, reason: "request head larger than \(limit) bytes"))
            }
            // A request line is known bad before the head ends: say so early.
            if let lineEnd = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Self.parseRequestLine(buffer[..<lineEnd])
                if case .invalid = line { return finish(line) }
            }
            return .incomplete
        }
        if end > limit {
            return finish(.invalid(status: 431, reason: "request head larger than \(limit) bytes"))
        }
        let lineEnd = buffer.firstIndex(of: UInt8(ascii: "\n"))!
        return finish(Self.parseRequestLine(buffer[..<lineEnd]))
    }

    private mutating func finish(_ result: Result) -> Result {
        done = result
        buffer = []
        return result
    }

    /// The index just past the blank line ending the head (`\r\n\r\n`, or
    /// `\n\n` from lax clients), searching from `from`.
    static func endOfHead(_ b: [UInt8], from: Int) -> Int? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var i = from
        while i < b.count {
            if b[i] == lf {
                if i + 1 < b.count, b[i + 1] == lf { return i + 2 }
                if i + 2 < b.count, b[i + 1] == cr, b[i + 2] == lf { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// `METHOD SP request-target SP HTTP/1.x` (the line end excluded).
    static func parseRequestLine(_ raw: ArraySlice<UInt8>) -> Result {
        var line = raw
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return .invalid(status: 400, reason: "malformed request line (expected \"METHOD /path HTTP/1.1\")")
        }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(Self.isTokenByte) else {
            return .invalid(status: 400, reason: "malformed method in the request line")
        }
        guard version.elementsEqual("HTTP/1.1".utf8) || version.elementsEqual("HTTP/1.0".utf8) else {
            if version.starts(with: "HTTP/".utf8) {
                return .invalid(status: 505, reason: "HTTP version not supported (use HTTP/1.0 or HTTP/1.1)")
            }
            return .invalid(status: 400, reason: "malformed HTTP version in the request line")
        }
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .invalid(status: 400, reason: "malformed request target (expected an absolute path)")
        }
        // The query string and fragment do not choose the resource.
        let pathEnd = target.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? target.endIndex
        return .request(HTTPRequestHead(method: String(decoding: method, as: UTF8.self),
                                        path: String(decoding: target[..<pathEnd], as: UTF8.self),
                                        version: String(decoding: version, as: UTF8.self)))
    }

    /// RFC 9110 `tchar`, the bytes a method name may have.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}

/// A request line: `GET /metrics HTTP/1.1` is method `GET`, path `/metrics`.
public struct HTTPRequestHead: Sendable, Equatable {
    /// As sent (methods are case-sensitive: `get` is not `GET`).
    public var method: String
    /// Without the query string.
    public var path: String
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String

    public init(method: String, path: String, version: String = "HTTP/1.1") {
        self.method = method
        self.path = path
        self.version = version
    }
}
