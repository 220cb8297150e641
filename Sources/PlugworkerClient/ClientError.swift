/// Why a `CeleryClient` call failed.
///
/// A struct with a stable `code` (compare with `==`; codes may be added,
/// so a `switch` needs a default), a one-line `message`, and the details
/// of the case: the task's failure for `.taskFailed`, the broker's error
/// for `.broker`.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    /// A stable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// The task ended in FAILURE or REVOKED: `failure` says how.
        public static let taskFailed = Code(name: "task-failed")
        /// No ready result came within the timeout. The task may still run.
        public static let timeout = Code(name: "timeout")
        /// The broker could not be reached, or the connection failed:
        /// `brokerError` has the code, detail and hint.
        public static let broker = Code(name: "broker")
        /// An argument cannot be sent (e.g. a composite signature where a
        /// plain task is needed).
        public static let invalidArgument = Code(name: "invalid-argument")
    }

    public let code: Code
    /// One line: for a failed task, `ZeroDivisionError: integer division or modulo by zero`.
    public let message: String
    /// For `.taskFailed`: the exception the worker reported.
    public let failure: TaskFailure?
    /// For `.broker`: the broker error.
    public let brokerError: BrokerError?

    init(_ code: Code, _ message: String, failure: TaskFailure? = nil, brokerError: BrokerError? = nil) {
        self.code = code
        self.message = message
        self.failure = failure
        self.brokerError = brokerError
    }

    static func broker(_ error: BrokerError) -> ClientError {
        ClientError(.broker, error.description, brokerError: error)
    }

    public var description: String { message }
}

/// A task's failure as the worker reported it (celery-wire §2.4): the
/// exception's class, module and arguments, and the traceback text.
public struct TaskFailure: Sendable, Equatable, CustomStringConvertible {
    /// The task id.
    public let taskID: String
    /// `FAILURE` or `REVOKED`.
    public let state: String
    /// The exception class, e.g. `ZeroDivisionError`, `TaskRevokedError`.
    public let excType: String
    /// Its module, e.g. `builtins`, `celery.exceptions`; empty when not sent.
    public let excModule: String
    /// The exception's arguments (usually one message string).
    public let excMessage: [JSON]
    /// The worker's traceback text, if any.
    public let traceback: String?

    /// The arguments as text: strings as they are, other values as JSON.
    public var messageText: String {
        excMessage.map { $0.stringValue ?? $0.serialized }.joined(separator: ", ")
    }

    /// `ZeroDivisionError: …` for builtins, `module.Type: …` otherwise.
    public var description: String {
        let qualified = excModule.isEmpty || excModule == "builtins" ? excType : "\(excModule).\(excType)"
        return "\(qualified): \(messageText)"
    }

    init(taskID: String, state: String, result: JSON?, traceback: String?) {
        self.taskID = taskID
        self.state = state
        self.excType = result?["exc_type"]?.stringValue ?? state
        self.excModule = result?["exc_module"]?.stringValue ?? ""
        switch result?["exc_message"] {
        case .array(let a)?: excMessage = a
        case let v? where !v.isNull: excMessage = [v]
        default: excMessage = []
        }
        self.traceback = traceback
    }
}
