#if canImport(Glibc)
import Glibc
#endif

/// Sends Celery tasks from Swift and reads their results, as a Python
/// client with `backend='rpc://'` does: to plugworker or to Python workers.
///
///     let client = try CeleryClient()                  // $CELERY_BROKER_URL or localhost
///     let sum = try client.send("arith.add", args: [2, 3]).get(timeout: 10)   // 5
///
///     let steps = Signature.chain([Signature(task: "arith.add", args: [2, 2]),
///                                  Signature(task: "arith.mul", args: [4.0])])
///     try client.send(steps).get(timeout: 10)          // 16.0
///
/// Messages are protocol 2 with every header a Python client writes (see
/// `TaskMessageEncoder`); the target queue is declared first exactly as
/// kombu declares it. Results come back on the client's own reply queue:
/// a UUID-named, exclusive, auto-delete queue made at connect time, like
/// Celery's rpc backend's per-client queue. So results can be read only
/// by the client that sent the task (or, for callbacks, the task that sent
/// them: plugworker gives callbacks and errbacks their parent's reply queue).
///
/// **Concurrency.** A client is one AMQP connection and is used from one
/// thread at a time, synchronously, like the rest of plugworker: `send`
/// publishes and returns, `get` blocks in the broker socket until the result
/// or the timeout. It is not `Sendable`; give each thread its own client.
/// Results that arrive while waiting for another are kept, so `get` may be
/// called in any order.
public final class CeleryClient {
    /// The broker (print `url.masked`, never the URL itself).
    public let url: BrokerURL
    /// The client's reply queue (the `reply_to` of everything it sends).
    public let replyQueue: String
    /// Where tasks go when their options name no queue.
    public var defaultQueue = "celery"
    /// The `origin` header: `gen<pid>@<host>`, as Python clients write it.
    public let origin: String

    let connection: AMQPConnection
    var declared: Set<String> = []
    /// The latest state received for each task id.
    var states: [String: ResultMeta] = [:]
    var isClosed = false

    /// Connects to the broker and makes the reply queue.
    /// - Parameters:
    ///   - brokerURL: `amqp://user:pass@host:port/vhost` (`amqps://` for
    ///     TLS); nil: `$CELERY_BROKER_URL`, else
    ///     `amqp://guest:guest@localhost:5672//`.
    ///   - connectTimeout: seconds for connecting and logging in.
    /// - Throws: `ClientError` `.broker` when the URL is bad or the broker
    ///   cannot be reached.
    public init(brokerURL: String? = nil, connectTimeout: Double = 10) throws(ClientError) {
        let text = brokerURL ?? getenv("CELERY_BROKER_URL").map { String(cString: $0) }
            ?? "amqp://guest:guest@localhost:5672//"
        do {
            url = try BrokerURL(parsing: text)
        } catch {
            throw .broker(error)
        }
        origin = "gen\(getpid())@\(Self.hostname())"
        replyQueue = UUID4.make()
        connection = AMQPConnection(url: url, heartbeat: 0, connectionName: "plugworker client",
                                    tls: (try? TLSOptions.fromQuery(url.query)) ?? TLSOptions())
        do {
            try connection.connect(timeout: connectTimeout)
            _ = try connection.queueDeclare(name: replyQueue, durable: false, exclusive: true, autoDelete: true)
            _ = try connection.basicConsume(queue: replyQueue, noAck: true)
        } catch {
            connection.abandon()
            throw .broker(error)
        }
    }

    deinit {
        close()
    }

    /// Closes the connection; the reply queue goes with it. Results not yet
    /// read are lost. Safe to call twice.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        connection.close()
    }

    // MARK: Sending

    /// Sends task `name` (Python's `app.send_task`).
    /// - Parameters:
    ///   - args: positional arguments.
    ///   - kwargs: keyword arguments.
    ///   - options: `apply_async` options (countdown, eta, expires, queue,
    ///     priority, time limits, link, link_error…).
    /// - Returns: the result handle; `get` waits for it.
    /// - Throws: `ClientError` `.broker` when the message cannot be published.
    @discardableResult
    public func send(_ name: String, args: [JSON] = [], kwargs: JSONObject = JSONObject(),
                     options: TaskOptions = TaskOptions()) throws(ClientError) -> AsyncResult {
        try send(Signature(task: name, args: args, kwargs: kwargs, options: options.signatureOptions()))
    }

    /// Applies a signature: a task, or a chain (Python's
    /// `chain(...).apply_async()`; the result is the last step's, its
    /// `parent` the one before). For a group use `send(group:)`.
    /// - Throws: `ClientError` `.broker` when it cannot be published,
    ///   `.invalidArgument` for a group or another composite.
    @discardableResult
    public func send(_ signature: Signature) throws(ClientError) -> AsyncResult {
        guard signature.subtaskType == nil || signature.subtaskType == "chain" else {
            throw ClientError(.invalidArgument, "send(_:) takes a task or a chain; use send(group:) for a \(signature.subtaskType!)")
        }
        let application = applier().apply(signature)
        try publish(application)
        // A chain: the result is its last step, with the others as parents.
        var result: AsyncResult? = nil
        for task in application.tasks.prefix(1) {
            result = AsyncResult(id: task.message.id, client: self)
            var steps = task.message.embed.chain.compactMap(Signature.init(json:)).reversed().compactMap(\.taskID).makeIterator()
            while let next = steps.next() {
                let r = AsyncResult(id: next, client: self)
                r.parent = result
                result = r
            }
        }
        guard let result else {
            throw ClientError(.invalidArgument, "\(signature.task): nothing to send (an empty chain?)")
        }
        return result
    }

    /// Applies a group (Python's `group(...).apply_async()`): every member
    /// is sent with the same group id and its index.
    /// - Parameter options: options for every member (e.g. `queue`).
    @discardableResult
    public func send(group members: [Signature], options: TaskOptions = TaskOptions()) throws(ClientError) -> GroupResult {
        let application = applier().apply(.group(members, options: options.signatureOptions()))
        try publish(application)
        guard case .group(let id, let ids)? = application.child else {
            throw ClientError(.invalidArgument, "group: nothing to send")
        }
        return GroupResult(id: id, results: ids.map { AsyncResult(id: $0, client: self) })
    }

    /// A handle on a task this client will get the result of, by id: e.g.
    /// a callback whose `task_id` was set in its signature's options.
    public func result(id: String) -> AsyncResult {
        AsyncResult(id: id, client: self)
    }

    func applier() -> SignatureApplier {
        SignatureApplier(replyTo: replyQueue, origin: origin, defaultQueue: defaultQueue)
    }

    func publish(_ application: SignatureApplier.Application) throws(ClientError) {
        if let problem = application.problems.first { throw ClientError(.invalidArgument, problem) }
        do {
            // (A missing exchange is caught before the publish, which would
            // otherwise close the channel, and our reply consumer with it.)
            for task in application.tasks { try connection.publish(task, declared: &declared) }
        } catch {
            if error.code == .channelClosed { try? consumeReplies() }
            throw .broker(error)
        }
    }

    /// Declares and consumes the reply queue again if the channel lost
    /// the consumer (the broker closed the channel over a refused
    /// declaration or publish): the queue is auto-delete, so it went with
    /// the consumer, and results published meanwhile were dropped.
    func consumeReplies() throws(BrokerError) {
        guard connection.consumerTags.isEmpty else { return }
        _ = try connection.queueDeclare(name: replyQueue, durable: false, exclusive: true, autoDelete: true)
        _ = try connection.basicConsume(queue: replyQueue, noAck: true)
    }

    // MARK: Receiving

    /// Waits until `id` is ready (SUCCESS, FAILURE, REVOKED) or `deadline`
    /// (monotonic seconds) passes; nil deadline: forever.
    func wait(for id: String, deadline: Double?) throws(ClientError) -> ResultMeta? {
        while true {
            if let meta = states[id], meta.isReady { return meta }
            var timeout = 1.0
            if let deadline {
                let left = deadline - Self.monotonic()
                if left <= 0 { return states[id] }
                timeout = min(timeout, left)
            }
            try receive(timeout: timeout)
        }
    }

    /// Reads what the broker has for us, waiting up to `timeout` seconds
    /// for the first message.
    func receive(timeout: Double) throws(ClientError) {
        var wait = timeout
        do {
            while let event = try connection.nextEvent(timeout: wait) {
                wait = 0
                if case .channelClosed = event {
                    try consumeReplies()
                    continue
                }
                guard case .delivery(let d) = event, let meta = ResultMeta(d) else { continue }
                // Keep the latest state; never let a late STARTED hide a result.
                if let known = states[meta.taskID], known.isReady, !meta.isReady { continue }
                states[meta.taskID] = meta
            }
        } catch {
            throw .broker(error)
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One result message, decoded (celery-wire §2.2).
struct ResultMeta {
    var taskID: String
    var status: String
    var result: JSON
    var traceback: String?
    var children: [JSON]

    var isReady: Bool { status == "SUCCESS" || status == "FAILURE" || status == "REVOKED" }

    init?(_ d: Delivery) {
        guard let body = try? JSON.parse(d.body), let status = body["status"]?.stringValue,
              let id = body["task_id"]?.stringValue ?? d.properties.correlationID else { return nil }
        taskID = id
        self.status = status
        result = body["result"] ?? .null
        traceback = body["traceback"]?.stringValue
        children = body["children"]?.arrayValue ?? []
    }
}
