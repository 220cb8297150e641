/// The pending result of a task sent by a `CeleryClient` (Python's
/// `AsyncResult` with the rpc backend).
///
/// It reads through its client: use it on the client's thread. States are
/// Celery's: `PENDING` (nothing heard yet), `STARTED` (tasks with
/// track_started), `RETRY`, then one of the ready states `SUCCESS`,
/// `FAILURE`, `REVOKED`.
public final class AsyncResult {
    /// The task id.
    public let id: String
    /// The previous step, for a chain's result (Python's `.parent`).
    public internal(set) var parent: AsyncResult?
    let client: CeleryClient

    init(id: String, client: CeleryClient) {
        self.id = id
        self.client = client
    }

    /// The latest known state; reads what has arrived, without waiting.
    public var state: String {
        try? client.receive(timeout: 0)
        return client.states[id]?.status ?? "PENDING"
    }

    /// True once the task is SUCCESS, FAILURE or REVOKED (does not wait).
    public func ready() -> Bool {
        try? client.receive(timeout: 0)
        return client.states[id]?.isReady ?? false
    }

    /// The traceback text of a failure, once known.
    public var traceback: String? { client.states[id]?.traceback }

    /// The tasks this task sent (link callbacks, the next chain step), as
    /// listed in its result; empty until the result is in. A group's
    /// members are listed one by one.
    public var children: [AsyncResult] {
        guard let meta = client.states[id] else { return [] }
        var out: [AsyncResult] = []
        for child in meta.children {
            // [[id, parent], null] for a task, [[gid, null], [members…]] for a group.
            if case .array(let members)? = child[1] {
                for m in members { if let mid = m[0]?[0]?.stringValue { out.append(AsyncResult(id: mid, client: client)) } }
            } else if let cid = child[0]?[0]?.stringValue {
                out.append(AsyncResult(id: cid, client: client))
            }
        }
        return out
    }

    /// Waits for the result.
    /// - Parameter timeout: seconds; nil waits for ever.
    /// - Returns: the task's return value as JSON (`null` for a void task).
    /// - Throws: `ClientError` `.taskFailed` with `failure` set when the task
    ///   ended in FAILURE or REVOKED; `.timeout` when nothing ready came in
    ///   time (the task may still run; call again); `.broker` when the
    ///   connection failed.
    public func get(timeout: Double? = nil) throws(ClientError) -> JSON {
        let deadline = timeout.map { CeleryClient.monotonic() + $0 }
        guard let meta = try client.wait(for: id, deadline: deadline), meta.isReady else {
            throw ClientError(.timeout, "TimeoutError: no result for task \(id) within \(timeout ?? 0)s")
        }
        if meta.status == "SUCCESS" { return meta.result }
        let failure = TaskFailure(taskID: id, state: meta.status, result: meta.result, traceback: meta.traceback)
        throw ClientError(.taskFailed, failure.description, failure: failure)
    }
}

/// The results of a group's members, in order (Python's `GroupResult`).
public final class GroupResult {
    /// The group id (each member's `group` header).
    public let id: String
    /// One result per member.
    public let results: [AsyncResult]

    init(id: String, results: [AsyncResult]) {
        self.id = id
        self.results = results
    }

    /// True once every member is ready.
    public func ready() -> Bool { results.allSatisfy { $0.ready() } }

    /// Waits for every member; the values in member order.
    /// - Parameter timeout: seconds for the whole group; nil waits for ever.
    /// - Throws: the first member failure (`.taskFailed`), `.timeout`, `.broker`.
    public func get(timeout: Double? = nil) throws(ClientError) -> [JSON] {
        let deadline = timeout.map { CeleryClient.monotonic() + $0 }
        var out: [JSON] = []
        for r in results {
            let left = deadline.map { max(0, $0 - CeleryClient.monotonic()) }
            out.append(try r.get(timeout: left))
        }
        return out
    }
}
