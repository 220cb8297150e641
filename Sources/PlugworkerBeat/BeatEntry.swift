import PlugworkerCore

/// One entry of the schedule: which task to send, with what, where and when
/// (Celery's `beat_schedule` item).
public struct BeatEntry: Sendable, Equatable {
    /// The entry's name, unique in the schedule (the TOML table's key).
    public var name: String
    /// The registered task name, e.g. `arith.add`.
    public var task: String
    /// Positional arguments (a JSON array) and keyword arguments.
    public var args: [JSON]
    public var kwargs: JSONObject
    public var schedule: BeatSchedule
    /// Where to send it (default `celery`), its AMQP priority, and its
    /// expiry in seconds after sending (Celery's `options`).
    public var queue: String
    public var priority: UInt8?
    public var expires: Double?

    public init(name: String, task: String, args: [JSON] = [], kwargs: JSONObject = JSONObject(), schedule: BeatSchedule,
                queue: String = "celery", priority: UInt8? = nil, expires: Double? = nil) {
        self.name = name
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.schedule = schedule
        self.queue = queue
        self.priority = priority
        self.expires = expires
    }

    static let keys: Set<String> = ["task", "args", "kwargs", "every", "crontab", "options", "queue", "priority", "expires"]
    static let optionKeys: Set<String> = ["queue", "priority", "expires"]
    static let crontabKeys: Set<String> = ["minute", "hour", "day_of_week", "day_of_month", "month_of_year"]

    /// Reads `[beat.schedule.NAME]`.
    /// - Throws: `BeatError` naming the entry and the field.
    public init(name: String, table: JSONObject) throws(BeatError) {
        func bad(_ why: String, _ hint: String) -> BeatError {
            BeatError(.badEntry, "schedule entry \(name): \(why)", hint: hint)
        }
        for m in table where !Self.keys.contains(m.key) {
            throw bad("unknown field \(m.key)", "the fields are: " + Self.keys.sorted().joined(separator: ", "))
        }
        guard let task = table["task"]?.stringValue, !task.isEmpty else {
            throw bad("no task", "add task = \"module.name\"")
        }
        var args: [JSON] = []
        if let a = table["args"] {
            guard let array = a.arrayValue else { throw bad("args must be an array", "args = [2, 3]") }
            args = array
        }
        var kwargs = JSONObject()
        if let k = table["kwargs"] {
            guard let o = k.objectValue else { throw bad("kwargs must be a table", "kwargs = { x = 1 }") }
            kwargs = o
        }
        let schedule: BeatSchedule
        switch (table["every"], table["crontab"]) {
        case (let every?, nil):
            switch every {
            case .string(let s): schedule = try .interval(parsing: s, entry: name)
            case .int, .double:
                schedule = try .interval(parsing: BeatSchedule.trim(every.doubleValue ?? 0), entry: name)
            default: throw bad("every must be a number of seconds or a duration string", "every = \"30s\"")
            }
        case (nil, let c?):
            guard let fields = c.objectValue else {
                throw bad("crontab must be a table", "crontab = { minute = \"0\", hour = \"9\", day_of_week = \"mon-fri\" }")
            }
            var text: [String: String] = [:]
            for f in fields {
                guard Self.crontabKeys.contains(f.key) else {
                    throw bad("unknown crontab field \(f.key)", "the fields are: minute, hour, day_of_week, day_of_month, month_of_year")
                }
                switch f.value {
                case .string(let s): text[f.key] = s
                case .int(let i): text[f.key] = String(i)
                default: throw bad("crontab \(f.key) must be a string or a number", "\(f.key) = \"*/15\"")
                }
            }
            schedule = .crontab(try Crontab(minute: text["minute"] ?? "*", hour: text["hour"] ?? "*",
                                            dayOfWeek: text["day_of_week"] ?? "*", dayOfMonth: text["day_of_month"] ?? "*",
                                            monthOfYear: text["month_of_year"] ?? "*", entry: name))
        case (nil, nil):
            throw bad("no schedule", "add every = \"30s\" or crontab = { minute = \"*/15\" }")
        case (_?, _?):
            throw bad("both every and crontab", "keep one of them")
        }
        // Options may sit in an `options` table (as Celery's) or at the top.
        var options = table
        if let o = table["options"] {
            guard let ot = o.objectValue else { throw bad("options must be a table", "options = { queue = \"celery\" }") }
            for m in ot {
                guard Self.optionKeys.contains(m.key) else {
                    throw bad("unknown option \(m.key)", "the options are: queue, priority, expires")
                }
                options[m.key] = m.value
            }
        }
        var queue = "celery"
        if let q = options["queue"] {
            guard let s = q.stringValue, !s.isEmpty else { throw bad("queue must be a non-empty string", "queue = \"celery\"") }
            queue = s
        }
        var priority: UInt8? = nil
        if let p = options["priority"] {
            guard let v = p.int64Value, (0...255).contains(v) else { throw bad("priority must be an integer 0-255", "priority = 5") }
            priority = UInt8(v)
        }
        var expires: Double? = nil
        if let e = options["expires"] {
            guard let v = e.doubleValue, v > 0, v.isFinite else { throw bad("expires must be a positive number of seconds", "expires = 30") }
            expires = v
        }
        self.init(name: name, task: task, args: args, kwargs: kwargs, schedule: schedule, queue: queue,
                  priority: priority, expires: expires)
    }
}
