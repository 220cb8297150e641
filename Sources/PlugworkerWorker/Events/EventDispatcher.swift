import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// Sends a worker's monitoring events (wire notes §6) to the `celeryev`
/// topic exchange: worker events whenever asked, task events only while
/// `enabled` (`-E`, or `enable_events` from Flower / `celery control`).
///
/// The dispatcher builds each event (`Event`), stamps it with the node
/// name, the time, the local UTC offset, the worker's pid and the next
/// Lamport clock value, and hands it to `publish`. It does no I/O of its
/// own and is not thread-safe: call it from the worker's event loop, like
/// the rest of the consumer. The `publish` closure owns error handling
/// (a failed event publish should be logged, not fatal).
///
/// **Sending mode.** By default every event is its own message, routed by
/// its type (`task.received`, `worker.heartbeat`, …): simple, and Flower
/// and `celery events` show every task that way (§6.1). With
/// `batchTaskEvents` on, task events are buffered and `flush()` ships them
/// as one JSON array with routing key `task.multi`, as a Python prefork
/// worker does; that turns the 3–4 publishes per task into one per loop
/// turn. In that mode the owner must call `flush()` once per event-loop
/// turn; the buffer also flushes itself at `batchLimit` events, before
/// every worker event and when `enabled` goes off. A batch of one is sent
/// alone under its own routing key. Receivers that bind a specific key
/// such as `task.succeeded` see nothing inside a `task.multi` batch — the
/// same as with a Python worker.
///
/// Cost when `enabled` is false: one branch per task method, nothing built.
public final class EventDispatcher {
    /// Publishes one message: exchange, routing key, properties, body.
    public typealias Publish = (_ exchange: String, _ routingKey: String, _ properties: MessageProperties,
                                _ body: [UInt8]) -> Void

    /// The node name every event carries (`hostname` field and header).
    public let hostname: String
    /// The `pid` field: the worker's (main process's) pid.
    public let pid: Int32
    /// `freq` of worker events: the heartbeat interval in seconds.
    public var freq: Double
    /// Task events on or off. Worker events are sent regardless.
    public var enabled: Bool {
        didSet { if !enabled { flush() } }
    }
    /// Buffer task events for `flush()` as `task.multi` batches.
    public var batchTaskEvents: Bool {
        didSet { if !batchTaskEvents { flush() } }
    }
    /// The most task events a batch holds before it is sent without waiting
    /// for `flush()`.
    public var batchLimit: Int
    /// `sw_ident`, `sw_ver`, `sw_sys` of worker events.
    public var softwareIdent = Event.softwareIdent
    public var softwareVersion = Event.softwareVersion
    public var softwareSystem = Event.softwareSystem
    /// The AMQP properties of every event message (see `Event.properties`).
    public let properties: MessageProperties

    private let publish: Publish
    private let clock: () -> Int
    /// The local UTC offset (§6.2), refreshed at every worker event so a
    /// DST change shows within one heartbeat.
    private var utcoffset: Double
    /// Buffered task event bodies (batch mode).
    private var buffer: [Event] = []

    /// - Parameters:
    ///   - hostname: the worker's node name, `name@host`.
    ///   - pid: the worker's process id (`getpid()`).
    ///   - freq: the heartbeat interval, sent as `freq` (Python's default 2.0).
    ///   - enabled: task events on from the start (`-E`).
    ///   - batchTaskEvents: buffer task events into `task.multi` batches
    ///     (requires a `flush()` per loop turn).
    ///   - batchLimit: flush a batch once it holds this many events.
    ///   - publish: sends one message; called synchronously from the methods.
    ///   - clock: advances the node's Lamport clock and returns the new value;
    ///     called once per event.
    public init(hostname: String, pid: Int32, freq: Double = 2.0, enabled: Bool = false,
                batchTaskEvents: Bool = false, batchLimit: Int = 100,
                publish: @escaping Publish, clock: @escaping () -> Int) {
        self.hostname = hostname
        self.pid = pid
        self.freq = freq
        self.enabled = enabled
        self.batchTaskEvents = batchTaskEvents
        self.batchLimit = max(1, batchLimit)
        self.publish = publish
        self.clock = clock
        self.properties = Event.properties(hostname: hostname)
        self.utcoffset = Event.utcoffset()
    }

    /// Declares the `celeryev` exchange (topic, durable), as a Python
    /// worker does before sending events. Call once per connection, before
    /// the first event.
    public func declare(on conn: AMQPConnection) throws(BrokerError) {
        try conn.exchangeDeclare(name: Event.exchange, type: "topic", durable: true)
    }

    /// The common fields for an event sent now.
    public func common() -> Event.Common {
        Event.Common(hostname: hostname, timestamp: CeleryTime.now(), utcoffset: utcoffset, pid: pid, clock: clock())
    }

    /// Task events waiting for `flush()` (batch mode).
    public var pendingCount: Int { buffer.count }

    // MARK: Worker events (sent whether or not `enabled`)

    /// `worker-online`: once, when the Events step starts.
    public func workerOnline(active: Int, processed: Int) {
        sendWorker("worker-online", active: active, processed: processed)
    }

    /// `worker-heartbeat`: every `freq` seconds.
    public func workerHeartbeat(active: Int, processed: Int) {
        sendWorker("worker-heartbeat", active: active, processed: processed)
    }

    /// `worker-offline`: on orderly shutdown.
    public func workerOffline(active: Int, processed: Int) {
        sendWorker("worker-offline", active: active, processed: processed)
    }

    /// `worker-elect-ack`: answers another node's `worker-elect` (Gossip).
    public func workerElectAck(id: String) {
        send(Event.workerElectAck(common(), id: id))
    }

    /// Flushes buffered task events (so they keep their order), refreshes
    /// the UTC offset, and sends a worker event.
    private func sendWorker(_ type: String, active: Int, processed: Int) {
        flush()
        utcoffset = Event.utcoffset()
        let status = Event.WorkerStatus(freq: freq, active: active, processed: processed, loadavg: Event.loadAverage(),
                                        swIdent: softwareIdent, swVer: softwareVersion, swSys: softwareSystem)
        send(Event.worker(type, common(), status))
    }

    // MARK: Task events (only while `enabled`)

    /// `task-received`: at receipt, before any ETA wait or revocation check.
    public func taskReceived(_ m: TaskMessage) {
        guard enabled else { return }
        sendTask(Event.taskReceived(common(), m))
    }

    /// `task-started`: when a pool process starts running it. `pid`, when
    /// given, is accepted for symmetry with older Celery (3.x sent the pool
    /// process's pid) but ignored: Celery 5.7 sends only `uuid`, with the
    /// worker's pid in the common field.
    public func taskStarted(id: String, pid: Int32? = nil) {
        guard enabled else { return }
        sendTask(Event.taskStarted(common(), id: id))
    }

    /// `task-succeeded` with an already-rendered repr text.
    public func taskSucceeded(id: String, resultRepr: String, runtime: Double) {
        guard enabled else { return }
        sendTask(Event.taskSucceeded(common(), id: id, result: resultRepr, runtime: runtime))
    }

    /// `task-succeeded` for a JSON result: `result` is its Python repr
    /// (`5`, `'HÉLLO'`, `{'words': 3}`, `None`), cut at 1024 bytes like
    /// Celery's `resultrepr_maxsize`.
    public func taskSucceeded(id: String, result: JSON, runtime: Double) {
        guard enabled else { return }
        sendTask(Event.taskSucceeded(common(), id: id, result: Self.resultRepr(result), runtime: runtime))
    }

    /// `task-succeeded` for a result given as JSON text (what the pool
    /// returns). Text that does not parse is shown as is.
    public func taskSucceeded(id: String, resultJSON: some Collection<UInt8>, runtime: Double) {
        guard enabled else { return }
        sendTask(Event.taskSucceeded(common(), id: id, result: Self.resultRepr(json: resultJSON), runtime: runtime))
    }

    /// `task-failed`: `exception` is the repr text (`ValueError('boom')`);
    /// a nil `traceback` leaves the field out (use it only for the
    /// unregistered-task case, see `taskNotRegistered`).
    public func taskFailed(id: String, exception: String, traceback: String?) {
        guard enabled else { return }
        sendTask(Event.taskFailed(common(), id: id, exception: exception, traceback: traceback))
    }

    /// `task-failed` for a task's exception: its repr (`description`) and
    /// its traceback (empty text when it has none).
    public func taskFailed(id: String, error: TaskException) {
        guard enabled else { return }
        sendTask(Event.taskFailed(common(), id: id, exception: error.description, traceback: error.traceback ?? ""))
    }

    /// `task-failed` for a message naming an unregistered task: only
    /// `exception: "NotRegistered('name')"`, as Celery sends.
    public func taskNotRegistered(id: String, name: String) {
        guard enabled else { return }
        sendTask(Event.taskFailed(common(), id: id, exception: Event.notRegisteredRepr(name), traceback: nil))
    }

    /// `task-retried`: `exception` is the repr of the retry reason.
    public func taskRetried(id: String, exception: String, traceback: String) {
        guard enabled else { return }
        sendTask(Event.taskRetried(common(), id: id, exception: exception, traceback: traceback))
    }

    /// `task-retried` for a task exception (repr and traceback, empty when none).
    public func taskRetried(id: String, error: TaskException) {
        guard enabled else { return }
        sendTask(Event.taskRetried(common(), id: id, exception: error.description, traceback: error.traceback ?? ""))
    }

    /// `task-revoked`: revoked before running (`terminated` false, `signum`
    /// nil, `expired` false), expired (`expired` true), or killed while
    /// running (`terminated` true with the signal).
    public func taskRevoked(id: String, terminated: Bool, signum: Int32?, expired: Bool) {
        guard enabled else { return }
        sendTask(Event.taskRevoked(common(), id: id, terminated: terminated, signum: signum, expired: expired))
    }

    /// `task-rejected`: the message was rejected (Reject, or acks_late
    /// failure paths), with or without requeue.
    public func taskRejected(id: String, requeue: Bool) {
        guard enabled else { return }
        sendTask(Event.taskRejected(common(), id: id, requeue: requeue))
    }

    /// `task-cancelled`: a running task was cancelled on connection loss.
    public func taskCancelled(id: String) {
        guard enabled else { return }
        sendTask(Event.taskCancelled(common(), id: id))
    }

    // MARK: Sending

    /// Ships buffered task events (batch mode): one alone under its own
    /// routing key, several as a JSON array under `task.multi`. A no-op
    /// when nothing is buffered.
    public func flush() {
        switch buffer.count {
        case 0:
            return
        case 1:
            let event = buffer[0]
            buffer.removeAll(keepingCapacity: true)
            send(event)
        default:
            var size = 2
            for e in buffer { size += e.body.count + 2 }
            var body: [UInt8] = []
            body.reserveCapacity(size)
            body.append(UInt8(ascii: "["))
            for (i, e) in buffer.enumerated() {
                if i > 0 { body.append(UInt8(ascii: ",")); body.append(UInt8(ascii: " ")) }
                body.append(contentsOf: e.body)
            }
            body.append(UInt8(ascii: "]"))
            buffer.removeAll(keepingCapacity: true)
            publish(Event.exchange, Event.multiRoutingKey, properties, body)
        }
    }

    private func sendTask(_ event: Event) {
        guard batchTaskEvents else { return send(event) }
        buffer.append(event)
        if buffer.count >= batchLimit { flush() }
    }

    private func send(_ event: Event) {
        publish(Event.exchange, event.routingKey, properties, event.body)
    }

    // MARK: Result repr

    /// Celery's `resultrepr_maxsize` default.
    public static let resultReprMaxLength = 1024

    /// The `result` text for a JSON return value.
    public static func resultRepr(_ result: JSON) -> String {
        PythonRepr.repr(result, maxLength: resultReprMaxLength)
    }

    /// The `result` text for a return value given as JSON text; text that
    /// does not parse is returned as is.
    public static func resultRepr(json: some Collection<UInt8>) -> String {
        if let value = try? JSON.parse(json) { return resultRepr(value) }
        return String(decoding: json, as: UTF8.self)
    }
}
