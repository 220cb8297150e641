import PlugworkerCore

/// A Celery signature (§1.5 of the wire notes): a task name with stored
/// (partial) args and kwargs and `apply_async` options. This is what link
/// callbacks, errbacks and chain steps travel as inside a task message's
/// embed, and what `PlugworkerClient` sends.
///
/// Composite signatures keep Celery's shape: a group is task `celery.group`
/// with `subtask_type: "group"` and its members in `kwargs.tasks`; a chain
/// is `celery.chain`, `subtask_type: "chain"`, its steps in order in
/// `kwargs.tasks`.
public struct Signature: Sendable, Equatable {
    /// The registered task name (`celery.group` / `celery.chain` for composites).
    public var task: String
    /// Stored positional arguments; a parent's result is put before them
    /// unless `immutable`.
    public var args: [JSON]
    /// Stored keyword arguments.
    public var kwargs: JSONObject
    /// `apply_async` options by their Python names (`task_id`, `reply_to`,
    /// `queue`, `countdown`, `link`, …).
    public var options: JSONObject
    /// Nil for a plain task; `"group"`, `"chain"`, `"chord"`… otherwise.
    public var subtaskType: String?
    /// True (Python's `.si()`): the parent's result is not prepended.
    public var immutable: Bool

    /// A signature for `task`.
    public init(task: String, args: [JSON] = [], kwargs: JSONObject = JSONObject(), options: JSONObject = JSONObject(),
                subtaskType: String? = nil, immutable: Bool = false) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.subtaskType = subtaskType
        self.immutable = immutable
    }

    /// Reads a signature dict as Python sends it. Lenient, as Celery's
    /// `signature(dict)` is: missing keys take their defaults; returns nil
    /// only when `json` is not an object with a string `task`.
    public init?(json: JSON) {
        guard case .object(let o) = json, case .string(let task)? = o["task"] else { return nil }
        self.task = task
        self.args = o["args"]?.arrayValue ?? []
        self.kwargs = o["kwargs"]?.objectValue ?? JSONObject()
        self.options = o["options"]?.objectValue ?? JSONObject()
        self.subtaskType = o["subtask_type"]?.stringValue
        if case .bool(let b)? = o["immutable"] { self.immutable = b } else { self.immutable = false }
    }

    /// The signature dict, with the six keys in the order Python writes them.
    public var json: JSON {
        .object(JSONObject([
            .init("task", .string(task)),
            .init("args", .array(args)),
            .init("kwargs", .object(kwargs)),
            .init("options", .object(options)),
            .init("subtask_type", subtaskType.map { .string($0) } ?? .null),
            .init("immutable", .bool(immutable)),
        ]))
    }

    /// The option `name`, or nil when absent or null.
    public func option(_ name: String) -> JSON? {
        guard let v = options[name], !v.isNull else { return nil }
        return v
    }

    /// The task id frozen into the options (`options.task_id`), if any.
    public var taskID: String? { option("task_id")?.stringValue }

    /// The members of a group or the steps of a chain (`kwargs.tasks`), in
    /// order; nil for a plain signature.
    public var members: [Signature]? {
        guard subtaskType != nil, let tasks = kwargs["tasks"]?.arrayValue else { return nil }
        return tasks.compactMap(Signature.init(json:))
    }

    /// A group of signatures (Celery's `group(...)`), applied as one unit:
    /// its members share a group id and carry their index.
    public static func group(_ members: [Signature], options: JSONObject = JSONObject()) -> Signature {
        Signature(task: "celery.group", kwargs: JSONObject([.init("tasks", .array(members.map(\.json)))]),
                  options: options, subtaskType: "group")
    }

    /// A chain of signatures (Celery's `chain(...)`): each step gets the
    /// previous step's result prepended to its args (unless immutable).
    public static func chain(_ steps: [Signature], options: JSONObject = JSONObject()) -> Signature {
        Signature(task: "celery.chain", kwargs: JSONObject([.init("tasks", .array(steps.map(\.json)))]),
                  options: options, subtaskType: "chain")
    }

    /// Reads a `link`/`link_error`/`chain` value: one signature dict or a
    /// list of them; anything else is dropped.
    public static func list(from json: JSON?) -> [Signature] {
        switch json {
        case .array(let list)?: return list.compactMap(Signature.init(json:))
        case .object?: return Signature(json: json!).map { [$0] } ?? []
        default: return []
        }
    }
}
