import PlugworkerCore

/// A task request, decoded from a Celery task message (protocol 2, or
/// protocol 1 converted to the same shape). `TaskMessageDecoder` builds it;
/// every field has already been checked for type and range.
///
/// The arguments are not decoded here: `body` holds the JSON body and
/// `argsRange`/`kwargsRange` are the byte ranges of the args array and the
/// kwargs object inside it, so the pool process can convert them straight
/// into C values. For protocol 1 the decoder builds a protocol-2 body,
/// `[args, kwargs, embed]`, and the ranges point into that.
public struct TaskMessage: Sendable, Equatable {
    /// The `timelimit` header: `[hard, soft]` seconds. Nil means no limit
    /// from the message (the task's own default applies); a `0` on the
    /// wire also means no limit, as in Python, and is stored as nil.
    public struct TimeLimit: Sendable, Equatable {
        /// The hard limit: the process is killed after this many seconds.
        public var hard: Double?
        /// The soft limit: the task is told to stop after this many seconds.
        public var soft: Double?

        public init(hard: Double? = nil, soft: Double? = nil) {
            self.hard = hard
            self.soft = soft
        }
    }

    /// The body's third element: what to run after this task.
    /// Signatures are kept as JSON objects (§1.5 of the wire notes).
    public struct Embed: Sendable, Equatable {
        /// `link=`: signatures to apply after success.
        public var callbacks: [JSON]
        /// `link_error=`: signatures to apply after failure.
        public var errbacks: [JSON]
        /// Remaining chain steps in reverse order: the last is next.
        public var chain: [JSON]
        /// The chord body, for a chord header task.
        public var chord: JSON?

        public init(callbacks: [JSON] = [], errbacks: [JSON] = [], chain: [JSON] = [], chord: JSON? = nil) {
            self.callbacks = callbacks
            self.errbacks = errbacks
            self.chain = chain
            self.chord = chord
        }

        /// True when there is nothing to run afterwards.
        public var isEmpty: Bool { callbacks.isEmpty && errbacks.isEmpty && chain.isEmpty && chord == nil }
    }

    /// 2, or 1 for a legacy message (including the "hybrid" form).
    public var protocolVersion: Int
    /// The task id (header `id`).
    public var id: String
    /// The registered task name (header `task`).
    public var taskName: String
    /// The first task of the workflow (`root_id`); nil when not sent.
    public var rootID: String?
    /// The task that published this one (`parent_id`).
    public var parentID: String?
    /// The group this task belongs to (`group`).
    public var group: String?
    /// Position in the group (`group_index`), never negative.
    public var groupIndex: Int?
    /// Do not start before this time (epoch seconds).
    public var eta: Double?
    /// The `eta` text as sent, for events and `inspect`.
    public var etaText: String?
    /// Do not run after this time (epoch seconds).
    public var expires: Double?
    /// The `expires` text as sent.
    public var expiresText: String?
    /// How many times the task has already been retried, never negative.
    public var retries: Int
    /// Time limits from the message.
    public var timeLimit: TimeLimit
    /// Python repr of the args, as sent, or built when the message has none.
    public var argsrepr: String
    /// Python repr of the kwargs, as sent, or built.
    public var kwargsrepr: String
    /// Node name of the sender.
    public var origin: String?
    /// Display name to use instead of `taskName` in logs and events.
    public var shadow: String?
    /// `true`: publish no result; nil: the task's own default.
    public var ignoreResult: Bool?
    /// Depth of `Task.replace()` nesting.
    public var replacedTaskNesting: Int
    /// Names listed in `stamped_headers`, when sent.
    public var stampedHeaders: [String]?
    /// The stamping API's `{name: value}` (`stamps`); empty when not sent.
    public var stamps: JSONObject
    /// Every header as received (user headers included), for
    /// `request.headers`. For protocol 1, the body's fields other than
    /// args, kwargs and the embed, overlaid with the AMQP headers.
    public var headers: JSONObject
    /// Where results go (AMQP `reply_to`); nil or empty: publish none.
    public var replyTo: String?
    /// The AMQP `correlation_id` (normally equal to `id`).
    public var correlationID: String?
    /// The AMQP priority.
    public var priority: UInt8?
    /// The AMQP content type as received.
    public var contentType: String?
    /// The JSON body, decompressed: `[args, kwargs, embed]`.
    public var body: [UInt8]
    /// The bytes of the args array inside `body`.
    public var argsRange: Range<Int>
    /// The bytes of the kwargs object inside `body`.
    public var kwargsRange: Range<Int>
    /// Callbacks, errbacks, chain and chord.
    public var embed: Embed

    /// The name logs, events and `inspect` show: `shadow`, else `taskName`.
    public var displayName: String { shadow ?? taskName }

    /// The args array as JSON text.
    public var argsJSON: ArraySlice<UInt8> { body[argsRange] }

    /// The kwargs object as JSON text.
    public var kwargsJSON: ArraySlice<UInt8> { body[kwargsRange] }

    /// Calls `work` with the args and kwargs JSON text, without copying.
    public func withArguments<R>(_ work: (_ args: UnsafeRawBufferPointer, _ kwargs: UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body.withUnsafeBytes { raw in
            try work(UnsafeRawBufferPointer(rebasing: raw[argsRange]), UnsafeRawBufferPointer(rebasing: raw[kwargsRange]))
        }
    }

    /// True once `expires` has passed at `now`.
    public func isExpired(at now: Double) -> Bool {
        guard let expires else { return false }
        return now > expires
    }
}
