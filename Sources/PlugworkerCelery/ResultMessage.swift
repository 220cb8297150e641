import PlugworkerBroker
import PlugworkerCore

/// A result message for the `rpc://` backend (§2.2 of the wire notes): the
/// JSON body and the AMQP properties. Publish it to the default exchange
/// `""` with routing key = the task's `reply_to`.
///
/// The body's fields come in the order `status`, `result`, `traceback`,
/// `children`, `date_done`, `task_id`, then `group_id` and `parent_id`
/// only when the task had them.
public struct ResultMessage: Sendable, Equatable {
    /// What happened, with its `result` payload.
    public enum State: Sendable, Equatable {
        /// `SUCCESS`; `result` is the return value as JSON text, embedded
        /// verbatim (an empty buffer is written as `null`).
        case success(result: [UInt8])
        /// `FAILURE` with the encoded exception and a traceback (or null).
        case failure(TaskException, traceback: String?)
        /// `RETRY`: the retry reason and a traceback; `date_done` is null.
        case retry(TaskException, traceback: String?)
        /// `REVOKED` with `TaskRevokedError(reason)`; reason is `expired`,
        /// `revoked` or `terminated`. Traceback null.
        case revoked(reason: String)
        /// `STARTED`: `{"pid": pid, "hostname": node}`, `date_done` null.
        case started(pid: Int, hostname: String)
        /// Any other state or payload (custom states from `update_state`,
        /// `Reject` with its two arguments…). `result` is JSON text;
        /// `date_done` is set for the ready states SUCCESS, FAILURE, REVOKED.
        case custom(status: String, result: [UInt8], traceback: String?)

        /// The state name on the wire.
        public var status: String {
            switch self {
            case .success: return "SUCCESS"
            case .failure: return "FAILURE"
            case .retry: return "RETRY"
            case .revoked: return "REVOKED"
            case .started: return "STARTED"
            case .custom(let status, _, _): return status
            }
        }

        /// True for the states after which the client's `get()` returns.
        public var isReady: Bool {
            switch status {
            case "SUCCESS", "FAILURE", "REVOKED": return true
            default: return false
            }
        }
    }

    /// An entry of `children`: a task this task published.
    public enum Child: Sendable, Equatable {
        /// A task: `[[id, null], null]`.
        case task(String)
        /// A group: `[[group_id, null], [member tuples…]]`.
        case group(id: String, members: [String])
    }

    /// The JSON body.
    public var body: [UInt8]
    /// `correlation_id`, JSON content type, UTF-8, delivery mode 1 (2 when
    /// persistent), priority 0, empty headers.
    public var properties: MessageProperties

    /// Builds a result message.
    /// - Parameters:
    ///   - taskID: the task the result is for (`task_id`).
    ///   - state: the state and its payload.
    ///   - correlationID: the task message's `correlation_id`; the task id
    ///     when nil.
    ///   - children: tasks published by this one.
    ///   - groupID: the task's `group` header, if any.
    ///   - parentID: the task's `parent_id` header, if any.
    ///   - now: `date_done` for ready states, as epoch seconds.
    ///   - persistent: `result_persistent`: delivery mode 2 instead of 1.
    public init(taskID: String, state: State, correlationID: String? = nil, children: [Child] = [],
                groupID: String? = nil, parentID: String? = nil, now: Double = CeleryTime.now(),
                persistent: Bool = false) {
        var w = JSONWriter(capacity: 256)
        w.writeRaw("{\"status\": ")
        w.write(string: state.status)
        w.writeRaw(", \"result\": ")
        var traceback: String? = nil
        switch state {
        case .success(let result):
            if result.isEmpty { w.writeRaw("null") } else { w.writeRaw(bytes: result) }
        case .failure(let exception, let tb), .retry(let exception, let tb):
            Self.write(exception, into: &w)
            traceback = tb
        case .revoked(let reason):
            Self.write(.taskRevoked(reason), into: &w)
        case .started(let pid, let hostname):
            w.writeRaw("{\"pid\": ")
            w.write(int: Int64(pid))
            w.writeRaw(", \"hostname\": ")
            w.write(string: hostname)
            w.writeRaw("}")
        case .custom(_, let result, let tb):
            if result.isEmpty { w.writeRaw("null") } else { w.writeRaw(bytes: result) }
            traceback = tb
        }
        w.writeRaw(", \"traceback\": ")
        if let traceback { w.write(string: traceback) } else { w.writeRaw("null") }
        w.writeRaw(", \"children\": [")
        for (i, child) in children.enumerated() {
            if i > 0 { w.writeRaw(", ") }
            Self.write(child, into: &w)
        }
        w.writeRaw("], \"date_done\": ")
        if state.isReady { w.write(string: CeleryTime.format(now)) } else { w.writeRaw("null") }
        w.writeRaw(", \"task_id\": ")
        w.write(string: taskID)
        if let groupID {
            w.writeRaw(", \"group_id\": ")
            w.write(string: groupID)
        }
        if let parentID {
            w.writeRaw(", \"parent_id\": ")
            w.write(string: parentID)
        }
        w.writeRaw("}")
        body = w.bytes
        properties = MessageProperties(
            contentType: "application/json", contentEncoding: "utf-8", headers: JSONObject(),
            deliveryMode: persistent ? 2 : 1, priority: 0, correlationID: correlationID ?? taskID)
    }

    /// Builds the result for a request: task id, correlation id, group and
    /// parent id come from it.
    public init(for request: TaskMessage, state: State, children: [Child] = [], now: Double = CeleryTime.now(),
                persistent: Bool = false) {
        self.init(taskID: request.id, state: state, correlationID: request.correlationID, children: children,
                  groupID: request.group, parentID: request.parentID, now: now, persistent: persistent)
    }

    /// `{"exc_type": …, "exc_message": [message], "exc_module": …}`.
    static func write(_ exception: TaskException, into w: inout JSONWriter) {
        w.writeRaw("{\"exc_type\": ")
        w.write(string: exception.type)
        w.writeRaw(", \"exc_message\": [")
        w.write(string: exception.message)
        w.writeRaw("], \"exc_module\": ")
        w.write(string: exception.module)
        w.writeRaw("}")
    }

    static func write(_ child: Child, into w: inout JSONWriter) {
        switch child {
        case .task(let id):
            w.writeRaw("[[")
            w.write(string: id)
            w.writeRaw(", null], null]")
        case .group(let id, let members):
            w.writeRaw("[[")
            w.write(string: id)
            w.writeRaw(", null], [")
            for (i, member) in members.enumerated() {
                if i > 0 { w.writeRaw(", ") }
                write(.task(member), into: &w)
            }
            w.writeRaw("]]")
        }
    }
}
