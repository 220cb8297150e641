import PlugworkerCore

/// Why a message from a task queue cannot become a `TaskMessage`.
///
/// The worker rejects such a message **without requeue** (redelivering it
/// would fail the same way). When `taskID` is known and `replyTo` is not
/// empty, it also publishes a FAILURE result carrying `exception`, so the
/// client's `get()` raises instead of waiting forever.
///
/// `taskID` is recovered from the `id` header (protocol 2) or body field
/// (protocol 1) when it is a string, else from the `correlation_id`
/// property. For `.notATask` only an `id` header counts: a message with
/// Celery's headers but no `task` header is a broken task whose sender
/// waits for an answer, while a message with neither (say, an RPC reply
/// sent to the wrong queue) is none of our business, and nothing is
/// published for it.
public struct MessageRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable code for logs and metrics.
    public enum Reason: String, Sendable, Equatable, CaseIterable {
        /// No `task` header and the body is not a protocol-1 task.
        case notATask = "not_a_task"
        /// A content type other than JSON (pickle, yaml, msgpack…) or a
        /// content encoding other than UTF-8.
        case contentDisallowed = "content_disallowed"
        /// A `compression` header other than zlib.
        case unsupportedCompression = "unsupported_compression"
        /// The body is not valid JSON (or not valid UTF-8, nested too
        /// deep, or a corrupt zlib stream).
        case decodeError = "decode_error"
        /// Valid JSON, but a header or body part has the wrong type or an
        /// impossible value.
        case malformed = "malformed"
        /// The body, before or after decompression, exceeds the limit.
        case tooLarge = "too_large"
    }

    public var reason: Reason
    /// One line naming the task (if known) and what is wrong.
    public var message: String
    /// The task id, when one could be recovered.
    public var taskID: String?
    /// The task name, when one could be recovered.
    public var taskName: String?
    /// The AMQP `reply_to` of the message.
    public var replyTo: String?
    /// The AMQP `correlation_id` of the message.
    public var correlationID: String?
    /// What to publish as the FAILURE result:
    ///
    /// - `.contentDisallowed`: `kombu.exceptions.ContentDisallowed`, worded
    ///   as kombu words it;
    /// - `.decodeError`, `.unsupportedCompression`:
    ///   `kombu.exceptions.DecodeError`;
    /// - `.tooLarge`: `kombu.exceptions.LimitExceeded`;
    /// - `.malformed`: builtins `TypeError` (wrong type) or `ValueError`
    ///   (wrong value), with the field named;
    /// - `.notATask`: `celery.exceptions.InvalidTaskError` (published only
    ///   when the message has an `id` header).
    public var exception: TaskException

    public init(reason: Reason, message: String, taskID: String? = nil, taskName: String? = nil,
                replyTo: String? = nil, correlationID: String? = nil, exception: TaskException) {
        self.reason = reason
        self.message = message
        self.taskID = taskID
        self.taskName = taskName
        self.replyTo = replyTo
        self.correlationID = correlationID
        self.exception = exception
    }

    /// True when the worker should publish a FAILURE result for it: a task
    /// id is known and there is a reply queue.
    public var canPublishFailure: Bool {
        taskID != nil && !(replyTo ?? "").isEmpty
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
