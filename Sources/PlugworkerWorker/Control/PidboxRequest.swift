import PlugworkerBroker
import PlugworkerCore

/// A remote-control request ("pidbox" message, spec §5.2), as `celery
/// inspect`, `celery control`, Flower and mingle publish it to the fanout
/// exchange `celery.pidbox`.
///
/// Decoding is strict about the fields it needs (a `method` string, an
/// `arguments` object, a well-formed `reply_to`) and lenient about the rest
/// (header `clock` and `expires` are read when they are numbers). It never
/// traps: anything malformed throws a `PidboxRefusal` with a reason to log.
///
/// The same type encodes requests for `ControlClient`.
public struct PidboxRequest: Sendable, Equatable {
    /// Where a call wants its reply: `reply_to` in the body.
    public struct ReplyAddress: Sendable, Equatable {
        /// Normally `reply.celery.pidbox`.
        public var exchange: String
        /// The client's oid.
        public var routingKey: String

        public init(exchange: String, routingKey: String) {
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    /// The command name, e.g. `ping`, `dump_tasks`.
    public var method: String
    /// Keyword arguments of the command (`{}` when none were sent).
    public var arguments: JSONObject
    /// Node names that should act; nil or empty means "every node" (then
    /// `pattern`/`matcher` may narrow it).
    public var destination: [String]?
    /// With `matcher`, selects nodes by name.
    public var pattern: String?
    /// `"glob"` (shell-style) or `"pcre"` (regex anchored at the start).
    public var matcher: String?
    /// Present for calls (a reply is expected), absent for casts.
    public var replyTo: ReplyAddress?
    /// The call's id, echoed in the reply's `ticket` header.
    public var ticket: String?
    /// The sender's Lamport clock (header `clock`), when it sent one.
    public var clock: Int?
    /// Header `expires`: epoch seconds after which the sender stops
    /// listening; 0 or nil means no limit. Python workers ignore it.
    public var expires: Double?

    public init(method: String, arguments: JSONObject = JSONObject(), destination: [String]? = nil,
                pattern: String? = nil, matcher: String? = nil, replyTo: ReplyAddress? = nil,
                ticket: String? = nil, clock: Int? = nil, expires: Double? = nil) {
        self.method = method
        self.arguments = arguments
        self.destination = destination
        self.pattern = pattern
        self.matcher = matcher
        self.replyTo = replyTo
        self.ticket = ticket
        self.clock = clock
        self.expires = expires
    }

    /// True for a call (the sender waits for a reply), false for a cast.
    public var isCall: Bool { replyTo != nil }

    // MARK: Decoding

    /// Decodes a delivery from the node's mailbox queue.
    /// - Throws: `PidboxRefusal` naming what is malformed.
    public init(delivery: Delivery) throws(PidboxRefusal) {
        try self.init(body: delivery.body, headers: delivery.properties.headers,
                      contentType: delivery.properties.contentType)
    }

    /// Decodes a request from its body bytes and AMQP headers table.
    /// - Parameter contentType: refused unless JSON (or absent).
    /// - Throws: `PidboxRefusal` naming what is malformed.
    public init(body: [UInt8], headers: JSONObject?, contentType: String? = nil) throws(PidboxRefusal) {
        if let contentType {
            let essence = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? contentType
            let trimmed = essence.filter { $0 != " " }.lowercased()
            guard trimmed == "application/json" || trimmed.isEmpty else {
                throw PidboxRefusal("content type \"\(contentType)\" is not JSON")
            }
        }
        let json: JSON
        do {
            json = try JSON.parse(body)
        } catch {
            throw PidboxRefusal("body is not JSON (\(error))")
        }
        try self.init(json: json, headers: headers)
    }

    /// Decodes a request from its parsed body and AMQP headers table.
    /// - Throws: `PidboxRefusal` naming what is malformed.
    public init(json: JSON, headers: JSONObject?) throws(PidboxRefusal) {
        guard case .object(let body) = json else {
            throw PidboxRefusal("body is a JSON \(json.pythonTypeName), not an object")
        }
        guard let methodValue = body["method"], !methodValue.isNull else {
            throw PidboxRefusal("field \"method\" is missing")
        }
        guard case .string(let method) = methodValue, !method.isEmpty else {
            throw PidboxRefusal("field \"method\" is a \(methodValue.pythonTypeName), not a non-empty string")
        }
        self.method = method

        switch body["arguments"] {
        case nil, .null?: arguments = JSONObject()
        case .object(let o)?: arguments = o
        case let other?: throw PidboxRefusal("field \"arguments\" is a \(other.pythonTypeName), not an object")
        }

        switch body["destination"] {
        case nil, .null?: destination = nil
        case .string(let s)?: destination = [s]
        case .array(let items)?:
            var names: [String] = []
            for item in items {
                guard case .string(let s) = item else {
                    throw PidboxRefusal("field \"destination\" holds a \(item.pythonTypeName), not only node names")
                }
                names.append(s)
            }
            destination = names
        case let other?: throw PidboxRefusal("field \"destination\" is a \(other.pythonTypeName), not a list")
        }

        pattern = try Self.optionalString(body, "pattern")
        matcher = try Self.optionalString(body, "matcher")
        ticket = try Self.optionalString(body, "ticket")

        switch body["reply_to"] {
        case nil, .null?: replyTo = nil
        case .object(let r)?:
            guard case .string(let exchange)? = r["exchange"], case .string(let key)? = r["routing_key"] else {
                throw PidboxRefusal("field \"reply_to\" lacks string \"exchange\" and \"routing_key\"")
            }
            replyTo = ReplyAddress(exchange: exchange, routingKey: key)
        case let other?: throw PidboxRefusal("field \"reply_to\" is a \(other.pythonTypeName), not an object")
        }

        clock = headers?["clock"].flatMap(Self.integer)
        expires = headers?["expires"].flatMap(Self.number)
    }

    static func optionalString(_ body: JSONObject, _ key: String) throws(PidboxRefusal) -> String? {
        switch body[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw PidboxRefusal("field \"\(key)\" is a \(other.pythonTypeName), not a string")
        }
    }

    /// An integer from a header value (int, integral float or digits); nil
    /// for anything else or out of range.
    static func integer(_ value: JSON) -> Int? {
        switch value {
        case .int(let v): return Int(exactly: v)
        case .uint(let v): return Int(exactly: v)
        case .double(let d):
            guard d.isFinite, d.magnitude < 9.0e15 else { return nil }
            return Int(d)
        case .string(let s): return Int(s)
        default: return nil
        }
    }

    static func number(_ value: JSON) -> Double? {
        switch value {
        case .int, .uint, .double, .bigint: return value.doubleValue
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    // MARK: Selection

    /// Whether the node `node` should act on this request (§5.2):
    /// - a non-empty `destination` → only the nodes it lists;
    /// - else a non-empty `pattern` and `matcher` → only names that match
    ///   (`glob`: fnmatch-style `*`, `?`, `[...]`; `pcre`: regex matched at
    ///   the start of the name, as Python's `re.match`; an unknown matcher
    ///   or a regex that does not compile matches nothing);
    /// - else every node.
    public func matches(node: String) -> Bool {
        if let destination, !destination.isEmpty { return destination.contains(node) }
        if let pattern, !pattern.isEmpty, let matcher, !matcher.isEmpty {
            return NodeMatcher.matches(node, pattern: pattern, matcher: matcher)
        }
        return true
    }

    /// True when the sender set an expiry (`expires` > 0) and `now` (epoch
    /// seconds) is past it: nobody is listening for the reply any more.
    /// Python workers act regardless; a worker may choose to skip such calls.
    public func isExpired(now: Double) -> Bool {
        guard let expires, expires > 0 else { return false }
        return now > expires
    }

    // MARK: Encoding

    /// The body as kombu's `Mailbox._broadcast` writes it: method,
    /// arguments, destination, pattern, matcher, then reply_to and ticket
    /// for calls.
    public var body: JSON {
        var o = JSONObject()
        o["method"] = .string(method)
        o["arguments"] = .object(arguments)
        o["destination"] = destination.map { .array($0.map(JSON.string)) } ?? .null
        o["pattern"] = pattern.map(JSON.string) ?? .null
        o["matcher"] = matcher.map(JSON.string) ?? .null
        if let replyTo {
            o["reply_to"] = ["exchange": .string(replyTo.exchange), "routing_key": .string(replyTo.routingKey)]
            o["ticket"] = ticket.map(JSON.string) ?? .null
        }
        return .object(o)
    }

    /// The AMQP properties of the request as kombu sends it: JSON,
    /// persistent, priority 0, headers `{"clock": …, "expires": …}`.
    public var properties: MessageProperties {
        MessageProperties(contentType: "application/json", contentEncoding: "utf-8",
                          headers: JSONObject(["clock": .int(Int64(clock ?? 0)), "expires": .double(expires ?? 0)]),
                          deliveryMode: 2, priority: 0)
    }
}
