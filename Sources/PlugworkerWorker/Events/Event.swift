#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PlugworkerBroker
import PlugworkerCore

/// One Celery monitoring event (wire notes §6), ready to publish on the
/// `celeryev` exchange: its type and its JSON object body.
///
/// Every body starts with the fields of §6.2 (`type`, `hostname`,
/// `timestamp`, `utcoffset`, `pid`, `clock`), from a `Common`, followed by
/// the type's own fields. The builders for each type are in
/// `Event+Worker.swift` and `Event+Task.swift`; they write the body
/// straight into one byte buffer (no `JSON` tree), since task events are
/// built several times per task while events are on.
///
/// The routing key is the type with `-` turned into `.` (`task.succeeded`);
/// the AMQP properties are `properties(hostname:)`.
public struct Event: Sendable, Equatable {
    /// The event type, e.g. `"task-succeeded"`.
    public var type: String
    /// The complete JSON object, as `json.dumps` would write it.
    public var body: [UInt8]

    /// Wraps an already-built body.
    public init(type: String, body: [UInt8]) {
        self.type = type
        self.body = body
    }

    /// The routing key this event is published with when sent alone.
    public var routingKey: String { Self.routingKey(for: type) }

    /// The body as text (for logs and tests).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The exchange all events go to: a durable topic exchange.
    public static let exchange = "celeryev"

    /// The routing key of a `task.multi` batch: a JSON array of task events.
    public static let multiRoutingKey = "task.multi"

    /// The routing key for an event type: `-` replaced by `.`
    /// (`worker-heartbeat` → `worker.heartbeat`).
    public static func routingKey(for type: String) -> String {
        guard type.utf8.contains(UInt8(ascii: "-")) else { return type }
        return String(decoding: type.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
    }

    /// The AMQP properties of every event message a node sends: JSON,
    /// UTF-8, transient (`delivery_mode` 1), priority 0, and the header
    /// `hostname` (receivers use it to recognise their own events).
    public static func properties(hostname: String) -> MessageProperties {
        MessageProperties(contentType: "application/json", contentEncoding: "utf-8",
                          headers: JSONObject([JSONObject.Member("hostname", .string(hostname))]),
                          deliveryMode: 1, priority: 0)
    }

    /// The fields on every event (§6.2).
    public struct Common: Sendable, Equatable {
        /// The sender's node name (`celery@host`).
        public var hostname: String
        /// Unix epoch seconds at send time.
        public var timestamp: Double
        /// Local offset from UTC in hours, sign inverted (see `Event.utcoffset`).
        public var utcoffset: Double
        /// The sender's process id.
        public var pid: Int32
        /// The Lamport clock value for this event.
        public var clock: Int

        public init(hostname: String, timestamp: Double, utcoffset: Double, pid: Int32, clock: Int) {
            self.hostname = hostname
            self.timestamp = timestamp
            self.utcoffset = utcoffset
            self.pid = pid
            self.clock = clock
        }
    }

    // MARK: Host facts

    /// The local time zone's offset from UTC in hours with the sign
    /// inverted, as Celery's `utcoffset()` computes it from Python's
    /// `time.timezone` / `time.altzone` (`/ 3600`, a float): UTC+2 → `-2.0`,
    /// UTC−5 → `5.0`, India (UTC+5:30) → `-5.5`, UTC → `0.0` (never `-0.0`).
    /// Daylight saving time in force at `time` is included, as Python picks
    /// `altzone` then. `now` is epoch seconds; nil means the current time.
    public static func utcoffset(at now: Int? = nil) -> Double {
        var t = now.map { time_t($0) } ?? time(nil)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return 0.0 }
        let west = -Int(parts.tm_gmtoff)  // integer negation: 0 stays 0, not -0.0
        return Double(west) / 3600.0
    }

    /// The 1, 5 and 15 minute load averages from `/proc/loadavg`, rounded
    /// to 2 places as Celery's `round(x, 2)`; `[0.0, 0.0, 0.0]` when the
    /// file cannot be read.
    public static func loadAverage() -> [Double] {
        let fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [0.0, 0.0, 0.0] }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 128)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return [0.0, 0.0, 0.0] }
        return parseLoadAverage(buf[0..<n])
    }

    /// Parses the first three fields of `/proc/loadavg` text
    /// (`"0.64 0.33 0.14 1/123 4567\n"`); missing or bad fields read as 0.
    public static func parseLoadAverage(_ text: some Collection<UInt8>) -> [Double] {
        let fields = text.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: true)
        var out: [Double] = []
        out.reserveCapacity(3)
        for i in 0..<3 {
            let v = i < fields.count ? Double(String(decoding: fields[i], as: UTF8.self)) ?? 0 : 0
            out.append(v.isFinite ? (v * 100).rounded() / 100 : 0)
        }
        return out
    }
}

extension Event {
    /// Writes one event body: `begin` opens the object with the common
    /// fields, the typed writers add `, "key": value` members, and `finish`
    /// closes it. Keys are static strings the callers vouch for (plain
    /// ASCII, nothing to escape).
    struct Builder {
        var writer: JSONWriter
        let type: String

        init(type: String, _ common: Common, capacity: Int = 256) {
            self.type = type
            writer = JSONWriter(capacity: capacity)
            writer.writeRaw("{\"type\": ")
            writer.write(string: type)
            writer.writeRaw(", \"hostname\": ")
            writer.write(string: common.hostname)
            writer.writeRaw(", \"timestamp\": ")
            writer.write(double: common.timestamp)
            writer.writeRaw(", \"utcoffset\": ")
            writer.write(double: common.utcoffset)
            writer.writeRaw(", \"pid\": ")
            writer.write(int: Int64(common.pid))
            writer.writeRaw(", \"clock\": ")
            writer.write(int: Int64(common.clock))
        }

        @inline(__always)
        mutating func key(_ name: StaticString) {
            writer.writeRaw(", \"")
            writer.writeRaw(name)
            writer.writeRaw("\": ")
        }

        mutating func add(_ name: StaticString, _ value: String) {
            key(name)
            writer.write(string: value)
        }

        /// A string, or `null` for nil.
        mutating func add(_ name: StaticString, orNull value: String?) {
            key(name)
            if let value { writer.write(string: value) } else { writer.writeRaw("null") }
        }

        mutating func add(_ name: StaticString, int value: Int) {
            key(name)
            writer.write(int: Int64(value))
        }

        mutating func add(_ name: StaticString, double value: Double) {
            key(name)
            writer.write(double: value)
        }

        mutating func add(_ name: StaticString, bool value: Bool) {
            key(name)
            value ? writer.writeRaw("true") : writer.writeRaw("false")
        }

        mutating func add(_ name: StaticString, doubles values: [Double]) {
            key(name)
            writer.writeRaw("[")
            for (i, v) in values.enumerated() {
                if i > 0 { writer.writeRaw(", ") }
                writer.write(double: v)
            }
            writer.writeRaw("]")
        }

        consuming func finish() -> Event {
            writer.writeRaw("}")
            return Event(type: type, body: writer.bytes)
        }
    }
}
