/// A broker address, `amqp://user:pass@host:port/vhost` or `amqps://…`,
/// parsed with kombu's semantics so that a `CELERY_BROKER_URL` means the same
/// thing to plugworker as to a Python worker:
///
/// | part      | default                       | notes                                    |
/// |-----------|-------------------------------|------------------------------------------|
/// | user      | `guest`                       | percent-decoded                          |
/// | password  | `guest`                       | percent-decoded; never printed           |
/// | host      | `localhost`                   | `[::1]` for IPv6                         |
/// | port      | 5672 (`amqps`: 5671)          |                                          |
/// | vhost     | `/`                           | path `""`, `/` or `//` → `/`; `/x` → `x`; `/%2F` → `/` |
///
/// `pyamqp://` and `librabbitmq://` (kombu's names for the same transport) are
/// accepted as `amqp://`. A query string (`?heartbeat=30`) is kept in `query`
/// for the caller; this type gives it no meaning.
///
/// Printing a `BrokerURL` (`description`, string interpolation, `dump`) shows
/// the masked form, `amqp://guest:**@localhost:5672//`, as Celery's banner does.
public struct BrokerURL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The scheme as written, lowercased: `amqp`, `amqps`, `pyamqp`, `librabbitmq`.
    public var scheme: String
    public var user: String
    public var password: String
    public var host: String
    public var port: Int
    public var virtualHost: String
    /// Query parameters, percent-decoded, in order of appearance.
    public var query: [(key: String, value: String)] {
        get { queryItems.map { (key: $0.key, value: $0.value) } }
        set { queryItems = newValue.map { QueryItem(key: $0.key, value: $0.value) } }
    }

    struct QueryItem: Sendable, Hashable {
        var key: String
        var value: String
    }

    var queryItems: [QueryItem] = []

    /// True for `amqps://`: the connection uses TLS.
    public var isTLS: Bool { scheme == "amqps" }

    /// The default URL, `amqp://guest:guest@localhost:5672//`.
    public init() {
        scheme = "amqp"
        user = "guest"
        password = "guest"
        host = "localhost"
        port = 5672
        virtualHost = "/"
    }

    /// Parses a broker URL.
    ///
    /// Accepts everything from a bare `amqp://` to
    /// `amqps://user:p%40ss@[::1]:5671/my%2Fvhost?heartbeat=10`.
    /// - Throws: `BrokerError` with code `.invalidURL` naming the problem (an
    ///   unknown scheme, a bad port, a broken `%` escape). The message shows
    ///   the URL with its password replaced by `**`.
    public init(parsing text: String) throws(BrokerError) {
        self.init()
        let fail = { (what: String, hint: String) -> BrokerError in
            BrokerError(.invalidURL, "invalid broker URL \(BrokerURL.maskedForError(text))", detail: what, hint: hint)
        }
        let schemeHint = "write it as amqp://user:password@host:port/vhost (or amqps:// for TLS)"
        guard let sep = text.firstRange(of: "://") else {
            throw fail("no scheme (expected \"amqp://\" or \"amqps://\")", schemeHint)
        }
        let scheme = text[..<sep.lowerBound].lowercased()
        switch scheme {
        case "amqp", "pyamqp", "librabbitmq":
            self.port = 5672
        case "amqps":
            self.port = 5671
        default:
            throw fail("unsupported scheme \"\(scheme)\"", "plugworker speaks AMQP 0-9-1 to RabbitMQ: " + schemeHint)
        }
        self.scheme = scheme
        var rest = text[sep.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var queryText: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        let netloc: Substring
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            netloc = rest[..<slash]
            path = rest[slash...]
        } else {
            netloc = rest
            path = ""
        }

        // user:password@host:port — the last "@" separates, as urlsplit does.
        var hostPort = netloc
        if let at = netloc.lastIndex(of: "@") {
            let userInfo = netloc[..<at]
            hostPort = netloc[netloc.index(after: at)...]
            let rawUser: Substring
            var rawPassword: Substring?
            if let colon = userInfo.firstIndex(of: ":") {
                rawUser = userInfo[..<colon]
                rawPassword = userInfo[userInfo.index(after: colon)...]
            } else {
                rawUser = userInfo
            }
            guard let u = Self.percentDecode(rawUser) else {
                throw fail("the user name has a broken %-escape or is not UTF-8", "escape reserved characters as %XX, e.g. %40 for @")
            }
            if !u.isEmpty { self.user = u }
            if let rawPassword {
                guard let p = Self.percentDecode(rawPassword) else {
                    throw fail("the password has a broken %-escape or is not UTF-8", "escape reserved characters as %XX, e.g. %40 for @")
                }
                if !p.isEmpty { self.password = p }
            }
        }

        var rawHost = hostPort
        var rawPort: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw fail("unterminated IPv6 address \"\(hostPort)\"", "write an IPv6 host in brackets: amqp://[::1]:5672/")
            }
            rawHost = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                rawPort = after.dropFirst()
            } else if !after.isEmpty {
                throw fail("unexpected \"\(after)\" after the IPv6 address", "write an IPv6 host in brackets: amqp://[::1]:5672/")
            }
        } else if let colon = hostPort.firstIndex(of: ":") {
            if hostPort[hostPort.index(after: colon)...].contains(":") {
                throw fail("too many \":\" in \"\(hostPort)\"", "write an IPv6 host in brackets: amqp://[::1]:5672/")
            }
            rawHost = hostPort[..<colon]
            rawPort = hostPort[hostPort.index(after: colon)...]
        }
        guard let h = Self.percentDecode(rawHost) else {
            throw fail("the host has a broken %-escape", "check the host name")
        }
        if !h.isEmpty { self.host = h }
        if let rawPort, !rawPort.isEmpty {
            guard rawPort.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(rawPort), (1...65535).contains(p) else {
                throw fail("port \"\(rawPort)\" is not a number from 1 to 65535", "RabbitMQ listens on 5672 (5671 for TLS) by default")
            }
            self.port = p
        }

        // kombu: path[1:], unquoted; empty means "/".
        let vhostText = path.hasPrefix("/") ? path.dropFirst() : path
        guard let v = Self.percentDecode(vhostText) else {
            throw fail("the virtual host has a broken %-escape or is not UTF-8", "write vhost \"/\" as amqp://host// or amqp://host/%2F")
        }
        self.virtualHost = v.isEmpty ? "/" : v

        for pair in queryText.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let plusDecoded = kv.map { Substring(String($0.map { $0 == "+" ? " " : $0 })) }
            guard let k = Self.percentDecode(plusDecoded[0]),
                  let val = Self.percentDecode(plusDecoded.count > 1 ? plusDecoded[1] : "")
            else {
                throw fail("query parameter \"\(pair)\" has a broken %-escape", "escape reserved characters as %XX")
            }
            queryItems.append(QueryItem(key: k, value: val))
        }
    }

    /// The URL with the password replaced by `**`, as Celery's banner shows it:
    /// `amqp://guest:**@localhost:5672//`.
    public var masked: String {
        var s = "\(scheme)://\(Self.quote(user, safe: "")):**@"
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)/\(Self.quote(virtualHost, safe: "/"))"
        return s
    }

    /// The masked URL (see `masked`).
    public var description: String { masked }
    /// The masked URL (see `masked`).
    public var debugDescription: String { "BrokerURL(\(masked))" }
    /// Reflection (`dump`, debuggers) shows the masked URL, never the password.
    public var customMirror: Mirror {
        Mirror(self, children: ["masked": masked], displayStyle: .struct)
    }

    public static func == (a: BrokerURL, b: BrokerURL) -> Bool {
        a.scheme == b.scheme && a.user == b.user && a.password == b.password && a.host == b.host
            && a.port == b.port && a.virtualHost == b.virtualHost && a.queryItems == b.queryItems
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(scheme)
        hasher.combine(user)
        hasher.combine(password)
        hasher.combine(host)
        hasher.combine(port)
        hasher.combine(virtualHost)
        hasher.combine(queryItems)
    }

    // MARK: - Helpers

    /// Decodes `%XX` escapes; nil for a broken escape or invalid UTF-8.
    static func percentDecode(_ s: Substring) -> String? {
        if !s.contains("%") { return String(s) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hex(h), let lv = hex(l) else { return nil }
                bytes.append(hv << 4 | lv)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Python's `urllib.parse.quote(s, safe=…)`: letters, digits, `_.-~` and
    /// the `safe` characters stay; every other byte becomes `%XX`.
    static func quote(_ s: String, safe: String) -> String {
        let safeBytes = Set(safe.utf8)
        var out = ""
        let digits = Array("0123456789ABCDEF".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "-"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                if safeBytes.contains(b) {
                    out.unicodeScalars.append(Unicode.Scalar(b))
                } else {
                    out += "%"
                    out.unicodeScalars.append(Unicode.Scalar(digits[Int(b >> 4)]))
                    out.unicodeScalars.append(Unicode.Scalar(digits[Int(b & 0xF)]))
                }
            }
        }
        return out
    }

    /// A URL that failed to parse, shown without its password: the text
    /// between the first `:` after the scheme and the last `@` becomes `**`.
    static func maskedForError(_ text: String) -> String {
        guard let sep = text.firstRange(of: "://") else { return "\"\(text)\"" }
        let rest = text[sep.upperBound...]
        let netlocEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let netloc = rest[..<netlocEnd]
        guard let at = netloc.lastIndex(of: "@") else { return "\"\(text)\"" }
        let userInfo = netloc[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return "\"\(text)\"" }
        return "\"" + String(text[..<colon]) + ":**" + String(text[at...]) + "\""
    }
}
