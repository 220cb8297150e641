/// Why beat refused a schedule, a setting or a start: a stable code, a
/// message naming the entry and field, and a hint.
public struct BeatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes (`PW3nn`); new ones may be added, none is reused.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let number: Int
        public let name: String
        public var description: String { "PW\(number) \(name)" }

        /// The config file cannot be read or is not valid TOML.
        public static let badConfig = Code(number: 301, name: "bad-config")
        /// A schedule entry lacks a field or has one of the wrong kind.
        public static let badEntry = Code(number: 302, name: "bad-entry")
        /// A crontab field does not parse.
        public static let badCrontab = Code(number: 303, name: "bad-crontab")
        /// An interval does not parse or is not positive.
        public static let badInterval = Code(number: 304, name: "bad-interval")
        /// The time zone is not in the tz database.
        public static let unknownTimeZone = Code(number: 305, name: "unknown-time-zone")
        /// Another beat holds the schedule's lock.
        public static let locked = Code(number: 306, name: "schedule-locked")
        /// The state file cannot be written.
        public static let stateWrite = Code(number: 307, name: "state-not-written")
        /// A crontab that can never fire (e.g. February 30).
        public static let neverDue = Code(number: 308, name: "never-due")
    }

    public var code: Code
    public var message: String
    public var hint: String

    public init(_ code: Code, _ message: String, hint: String) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var description: String { "error \(code): \(message) (hint: \(hint))" }
}
