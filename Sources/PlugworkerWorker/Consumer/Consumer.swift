#if canImport(Glibc)
import Glibc
#endif
import CPlugworker
import Logging
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore
import PlugworkerPool

/// The consumer: the broker connection, the queues, and the way of a task
/// from delivery to result (Celery's `worker/consumer/`).
///
///     delivery → decode → strategy → check args → Request
///       → revoked? expired? → ETA (Timer) → rate limit (token bucket, Timer)
///       → ready queue → pool (ack at start unless acks_late)
///       → outcome → result to reply_to, or retry re-publish → ack (acks_late)
///
/// Messages held for an ETA or a rate-limit token stay unacknowledged and
/// raise the prefetch count, up to `--eta-limit` (see `PrefetchWindow`).
///
/// Runs on the Hub thread only. Bad input never stops it: every refused
/// message is rejected without requeue (dead-lettered where the queue has a
/// DLX), gets a FAILURE result where it carries an id and a reply_to, and one
/// error line in the log.
final class Consumer {
    let options: WorkerOptions
    let registry: Registry
    let hub: Hub
    let pool: Pool
    let logger: Logger
    let url: BrokerURL
    /// By task name; rebuilt by `refreshStrategies()` when hot plugins
    /// change the registry.
    var strategies: [String: Strategy]
    /// The worker's metrics (the Metrics step), or nil without `--metrics-port`.
    let metrics: WorkerMetrics?

    private(set) var connection: AMQPConnection?
    /// Bumped at every connection; requests remember theirs.
    private(set) var generation = 0
    /// The consumer blueprint: Connection, Events, Heart, Mingle, Gossip,
    /// Tasks, Control, plugin consumer steps, Evloop (last).
    private(set) var blueprint: Blueprint<Consumer>!
    /// What each step declares and consumes on a (new) connection, in
    /// step order; run again after every reconnect.
    var connectedHooks: [(AMQPConnection) throws(BrokerError) -> Void] = []
    /// The task queues consumed: `-Q`, then those added by the
    /// `add_consumer` control command, less those `cancel_consumer` removed
    /// (`inspect active_queues`). Declared and consumed again after every
    /// reconnect.
    var taskQueues: [QueueDescription]
    /// Consumer tag → task queue name, for the current connection.
    var taskQueueTags: [String: String] = [:]
    /// Consumer tags of plugin consumer steps' queues.
    var stepConsumers: [String: (step: StepInstance, queue: String)] = [:]
    /// Evloop started: announce readiness once connected.
    var evloopStarted = false
    /// The Tasks step started: its queues are consumed on each connection
    /// (after mingle, when a mingle is in progress).
    var tasksStarted = false
    /// A mingle in progress (see Consumer+Mingle): the task queues wait.
    var mingle: MingleSession?
    /// The Gossip step's state (nil with `--without-gossip`).
    var gossip: Gossip?
    /// The mailbox's consumer tag (Control step).
    var controlTag: String?
    /// When the consumer was made (for `stats` uptime).
    let startedAt = Timer.now()
    /// Called for the `shutdown` control command.
    var onShutdownRequest: (() -> Void)?
    /// Worker and task events (Events and Heart steps).
    private(set) var events: EventDispatcher!
    var heartEntry: Timer.Entry?
    var sentOnline = false
    /// The broker socket as registered in the Hub (the connection may have
    /// closed it already when we learn it failed).
    var registeredFD: Int32 = -1
    var reconnectAttempt = 0
    /// Connections established again after one was lost.
    private(set) var reconnects = 0
    var heartbeatEntry: Timer.Entry?
    /// Acks collected during a Hub turn, sent at its end.
    var acks = AckBatcher()
    /// Task messages (callbacks, chain steps, errbacks) that waited for
    /// the broker; declared and sent after the reconnect.
    var canvasOutbox: [OutgoingTask] = []
    /// Messages published while the connection was down (results only).
    var outbox: [(exchange: String, routingKey: String, properties: MessageProperties, body: [UInt8])] = []
    /// Queues declared on the current connection for tasks this worker
    /// sends (beat with -B); emptied on each new connection.
    var declaredForSending: Set<String> = []
    static let outboxLimit = 10_000

    /// Received, waiting for a pool process (FIFO: `ready[readyHead...]`).
    var ready: [Request] = []
    var readyHead = 0
    /// Held for their ETA.
    var held: [ObjectIdentifier: Request] = [:]
    /// The prefetch count and the count of held messages (ETA and rate
    /// limit) that raise it.
    var window: PrefetchWindow
    /// `basic.qos` for the whole channel (Celery's default), or per
    /// consumer when a queue is a quorum queue (RabbitMQ refuses global
    /// QoS there; the count is then fixed at concurrency × multiplier).
    let qosGlobal: Bool
    /// Strategies of tasks that have a rate limit (for shutdown and
    /// connection loss; the hot path goes through `Strategy.rateLimiter`).
    var rateLimited: [Strategy] { strategies.values.filter { $0.rateLimiter != nil } }
    /// Running in the pool, by job number.
    var running: [UInt64: Request] = [:]
    /// With `--autoscale`: told when tasks are left waiting for a process.
    var autoscaler: PoolAutoscaler?
    var nextSeq: UInt64 = 1

    /// Called once, the first time the consumer is consuming.
    var onReady: (() -> Void)?
    var isReadyAnnounced = false
    /// True once a warm shutdown began: nothing new is started.
    private(set) var isStopping = false
    /// Tasks finished since start, by name (for `stats`).
    private(set) var totals: [String: Int] = [:]
    /// Revoked task ids (revoke/terminate, expiries, mingle).
    var revokedSet = RevokedSet()
    /// The node's Lamport clock (events, control replies, mingle).
    private(set) var clock = 0

    /// Advances the clock for something sent; returns the new value.
    func tick() -> Int {
        clock += 1
        return clock
    }

    /// Moves the clock past one received from another node.
    func adjustClock(_ received: Int) {
        clock = max(clock, received) + 1
    }

    init(options: WorkerOptions, registry: Registry, hub: Hub, pool: Pool, metrics: WorkerMetrics? = nil,
         logger: Logger) throws(BrokerError) {
        self.options = options
        self.registry = registry
        self.hub = hub
        self.pool = pool
        self.logger = logger
        self.url = try BrokerURL(parsing: options.brokerURL)
        self.strategies = Strategy.all(registry: registry, options: options)
        self.qosGlobal = !options.hasQuorumQueues
        // Per-consumer QoS cannot be raised for a consumer already started
        // (RabbitMQ applies a basic.qos with global=false only to consumers
        // started after it): with quorum queues held messages take places
        // of the window itself, which then bounds them.
        self.window = PrefetchWindow(base: options.prefetchCount, holdLimit: qosGlobal ? options.etaLimit : 0)
        self.metrics = metrics
        if let metrics {
            for (name, strategy) in strategies { strategy.metrics = metrics.task(named: name) }
        }
        // As kombu declares them, with the arguments the clients' task_queues
        // / task_queue_max_priority / task_default_queue_type give.
        self.taskQueues = options.queues.map { queue in
            let args = options.declarationArguments(for: queue)
            var maxPriority: Int?
            if case .int(let p)? = args["x-max-priority"] { maxPriority = Int(p) }
            return QueueDescription(name: queue, queueArguments: args.members.isEmpty ? nil : args, maxPriority: maxPriority)
        }
        self.blueprint = Blueprint(name: "Consumer", steps: Self.steps(options: options, registry: registry), logger: logger)
        self.events = EventDispatcher(hostname: options.nodeName.name, pid: getpid(), freq: options.heartbeatInterval,
                                      enabled: options.sendTaskEvents,
                                      publish: { [unowned self] in self.publishEvent(exchange: $0, routingKey: $1, properties: $2, body: $3) },
                                      clock: { [unowned self] in self.tick() })
    }

    /// The consumer blueprint's steps (Celery's `worker/consumer/`), then
    /// the plugins' consumer steps.
    static func steps(options: WorkerOptions, registry: Registry) -> [BootStep<Consumer>] {
        var steps: [BootStep<Consumer>] = [
            BootStep("Connection", start: { c in c.start() }, stop: { c in c.close() }),
            BootStep("Events", requires: ["Connection"], start: { c in c.startEvents() }),
            BootStep("Heart", requires: ["Events"], enabled: !options.withoutHeartbeat,
                     start: { c in c.startHeart() }, stop: { c in c.stopHeart() }),
            // Mingle (start-up sync of revoked ids and clock) unless
            // --without-mingle: the task queues are consumed after it.
            BootStep("Mingle", requires: ["Events"], enabled: !options.withoutMingle,
                     start: { c in c.startMingle() }),
            // Gossip (other workers' worker.# events, elections) unless
            // --without-gossip.
            BootStep("Gossip", requires: ["Mingle"], enabled: !options.withoutGossip,
                     start: { c in c.startGossip() }, stop: { c in c.stopGossip() }),
            BootStep("Tasks", requires: ["Mingle"],
                     start: { c in
                         c.tasksStarted = true
                         c.addConnectedHook { conn throws(BrokerError) in
                             if c.mingle == nil { try c.consumeTaskQueues(conn) }
                         }
                     },
                     stop: { c in c.stopConsuming() }),
            BootStep("Control", requires: ["Tasks"], start: { c in c.startControl() }),
            BootStep("Evloop", last: true, start: { c in c.evloopStart() }),
        ]
        for def in registry.steps where def.blueprint == .consumer {
            steps.append(PluginSteps.step(def, hostname: options.nodeName.name,
                                          started: { (c: Consumer, instance) in c.addStepConsumer(instance) },
                                          stopping: { (c: Consumer, instance) in c.removeStepConsumer(instance) }))
        }
        return steps
    }

    // MARK: Connection

    /// The Connection step: connect (retrying in the background with
    /// backoff while the broker is away; each step's connected hook then
    /// declares and consumes its queues) and drain it every loop turn.
    func start() {
        connect()
        hub.onBeforePoll { [unowned self] in self.drain() }
        hub.onBeforePoll { [unowned self] in
            self.flushAcks()
            return self.applyPrefetch()
        }
    }

    /// Registers what a step declares and consumes; runs it at once if
    /// connected, and again after every reconnect.
    func addConnectedHook(_ hook: @escaping (AMQPConnection) throws(BrokerError) -> Void) {
        connectedHooks.append(hook)
        guard let conn = connection else { return }
        do {
            try hook(conn)
        } catch {
            connectionLost(error)
        }
    }

    /// The Events step: declare `celeryev` on every connection; announce
    /// worker-online once.
    func startEvents() {
        addConnectedHook { [unowned self] conn throws(BrokerError) in
            try self.events.declare(on: conn)
            if !self.sentOnline {
                self.sentOnline = true
                self.events.workerOnline(active: self.running.count, processed: self.processed)
            }
        }
    }

    /// The Heart step: worker-heartbeat every `heartbeatInterval` seconds.
    func startHeart() {
        heartEntry = hub.timer.callRepeatedly(every: options.heartbeatInterval) { [unowned self] in
            guard self.connection != nil else { return }
            self.events.workerHeartbeat(active: self.running.count, processed: self.processed)
            self.registry.send(.heartbeatSent, SignalPayload(sender: self.options.nodeName.name, pid: getpid()))
        }
    }

    /// Stopping the Heart says goodbye: worker-offline.
    func stopHeart() {
        heartEntry?.cancel()
        events.workerOffline(active: running.count, processed: processed)
        events.flush()
    }

    /// Tasks finished since start.
    var processed: Int { totals.values.reduce(0, +) }

    /// Events are worth nothing late: while disconnected they are dropped,
    /// not kept in the result outbox.
    func publishEvent(exchange: String, routingKey: String, properties: MessageProperties, body: [UInt8]) {
        guard connection != nil else { return }
        publish(exchange: exchange, routingKey: routingKey, properties: properties, body: body)
    }

    /// The Evloop step: the loop runs once every step has started; the
    /// worker is ready as soon as it is connected.
    func evloopStart() {
        evloopStarted = true
        if connection != nil { announceReady() }
    }

    func announceReady() {
        guard !isReadyAnnounced, evloopStarted, mingle == nil else { return }
        isReadyAnnounced = true
        onReady?()
    }

    func connect() {
        guard connection == nil, !isStopping else { return }
        let conn = AMQPConnection(url: url, heartbeat: options.brokerHeartbeat,
                                  connectionName: "plugworker \(options.nodeName)", tls: options.tls, logger: logger)
        stepConsumers.removeAll()
        taskQueueTags.removeAll()
        controlTag = nil
        do {
            try conn.connect(timeout: 10)
            for hook in connectedHooks { try hook(conn) }
        } catch {
            conn.abandon()
            scheduleReconnect(after: error)
            return
        }
        generation += 1
        connection = conn
        declaredForSending = []
        if generation > 1 {
            reconnects += 1
            metrics?.brokerReconnected()
        }
        acks.reset()
        reconnectAttempt = 0
        logger.info("Connected to \(url.masked)")
        do {
            registeredFD = conn.fileDescriptor
            try hub.add(registeredFD) { [unowned self] _ in _ = self.drain() }
        } catch {
            logger.critical("cannot watch the broker socket: \(error)")
        }
        // rabbitmq-c sends heartbeats only when called: call it at least
        // every half interval even when no message arrives.
        let interval = max(0.5, Double(max(1, conn.negotiatedHeartbeat)) / 2)
        heartbeatEntry?.cancel()
        heartbeatEntry = hub.timer.callRepeatedly(every: interval) { [unowned self] in _ = self.drain() }
        flushOutbox()
        flushCanvasOutbox()
        announceReady()
    }

    /// The Tasks step: declare the task queues as Python clients do, set
    /// the prefetch, consume.
    func consumeTaskQueues(_ conn: AMQPConnection) throws(BrokerError) {
        for queue in taskQueues { try declare(queue, on: conn) }
        try conn.basicQos(prefetchCount: prefetchCount, global: qosGlobal)
        window.didApply(prefetchCount)
        for queue in taskQueues {
            taskQueueTags[try conn.basicConsume(queue: queue.name, noAck: false)] = queue.name
        }
    }

    /// Declares a task queue, its exchange and the binding exactly as kombu
    /// declares them (so no 406 PRECONDITION_FAILED); nothing to bind for
    /// the default exchange.
    func declare(_ queue: QueueDescription, on conn: AMQPConnection) throws(BrokerError) {
        if !queue.exchange.isEmpty {
            try conn.exchangeDeclare(name: queue.exchange, type: queue.exchangeType, durable: queue.exchangeDurable,
                                     autoDelete: false)
        }
        _ = try conn.queueDeclare(name: queue.name, durable: queue.durable, exclusive: queue.exclusive,
                                  autoDelete: queue.autoDelete, arguments: queue.queueArguments ?? JSONObject())
        if !queue.exchange.isEmpty {
            try conn.queueBind(queue: queue.name, exchange: queue.exchange, routingKey: queue.routingKey)
        }
    }

    /// `add_consumer`: consume one more task queue now (declared first) and
    /// after every reconnect. A queue already consumed is left alone. If the
    /// broker refuses the declaration (e.g. an existing exchange of another
    /// type), the queue is forgotten again, so that reconnecting does not
    /// fail on it forever.
    func addTaskQueue(_ queue: QueueDescription) {
        guard !taskQueues.contains(where: { $0.name == queue.name }) else {
            logger.info("pidbox: add_consumer: already consuming from \(queue.name)")
            return
        }
        taskQueues.append(queue)
        guard let conn = connection, !isStopping else { return }
        do {
            try declare(queue, on: conn)
            taskQueueTags[try conn.basicConsume(queue: queue.name, noAck: false)] = queue.name
            logger.info("Started consuming from \(queue.name)")
        } catch {
            taskQueues.removeAll { $0.name == queue.name }
            logger.error("pidbox: add_consumer \(queue.name) failed: \(error.logLine)")
            connectionLost(error)
        }
    }

    /// `cancel_consumer`: stop consuming a task queue. Messages already
    /// received from it still run, as in Celery.
    func cancelTaskQueue(_ name: String) {
        taskQueues.removeAll { $0.name == name }
        let tags = taskQueueTags.filter { $0.value == name }.map(\.key)
        guard !tags.isEmpty else { return }
        for tag in tags { taskQueueTags[tag] = nil }
        guard let conn = connection else { return }
        do {
            for tag in tags { try conn.basicCancel(consumerTag: tag) }
            logger.info("No longer consuming from \(name)")
        } catch {
            connectionLost(error)
        }
    }

    /// A plugin consumer step started: consume its queues (declared
    /// durable, with a direct exchange of the same name, as `-Q` queues are).
    func addStepConsumer(_ step: StepInstance) {
        let queues = step.definition.queues
        guard !queues.isEmpty else { return }
        addConnectedHook { [unowned self, weak step] conn throws(BrokerError) in
            guard let step, step.state == .started else { return }
            for queue in queues {
                try conn.declareTaskQueue(queue)
                let tag = try conn.basicConsume(queue: queue, noAck: false)
                self.stepConsumers[tag] = (step, queue)
            }
            self.logger.info("consumer step \(step.definition.name) consuming \(queues.joined(separator: ", "))")
        }
    }

    /// A plugin consumer step is stopping: stop consuming its queues.
    func removeStepConsumer(_ step: StepInstance) {
        for (tag, entry) in stepConsumers where entry.step === step {
            try? connection?.basicCancel(consumerTag: tag)
            stepConsumers[tag] = nil
        }
    }

    /// A raw message for a plugin consumer step: its `on_message` decides.
    func receiveRaw(_ d: Delivery, step: StepInstance, queue: String) {
        acks.delivered(d.deliveryTag)
        let headers = d.properties.headers.map { JSON.object($0).serialized } ?? "{}"
        let disposition = step.deliver(body: d.body, contentType: d.properties.contentType, exchange: d.exchange,
                                       routingKey: d.routingKey, queue: queue, headersJSON: headers, redelivered: d.redelivered)
        switch disposition {
        case Int32(PW_ACK.rawValue): acks.ack(d.deliveryTag)
        case Int32(PW_REQUEUE.rawValue): reject(tag: d.deliveryTag, requeue: true)
        default: reject(tag: d.deliveryTag, requeue: false)
        }
    }

    /// concurrency × multiplier, plus one per message held for its ETA or
    /// a rate-limit token, up to `--eta-limit`.
    var prefetchCount: UInt16 { window.count }

    /// Tries again after 0, 1, 2, 4 … 32 seconds.
    func scheduleReconnect(after error: Error?) {
        reconnectAttempt += 1
        let delay = min(32.0, reconnectAttempt == 1 ? 0 : Double(1 << min(reconnectAttempt - 1, 5)))
        if let error {
            let why = (error as? BrokerError)?.logLine ?? "\(error)"
            logger.error("consumer: Cannot connect to \(url.masked): \(why). Trying again in \(delay) seconds... (attempt \(reconnectAttempt))")
        }
        hub.timer.call(after: delay) { [unowned self] in self.connect() }
    }

    /// The connection failed: forget it and reconnect. Messages not yet
    /// acknowledged go back to the queue by the broker's own rules; tasks
    /// already running finish, and their results wait in the outbox.
    func connectionLost(_ error: BrokerError) {
        guard let conn = connection else { return }
        logger.error("consumer: Connection to broker lost (\(error.logLine)). Trying to re-establish the connection...")
        hub.remove(registeredFD)
        registeredFD = -1
        conn.abandon()
        connection = nil
        acks.reset()
        heartbeatEntry?.cancel()
        // Reserved and held messages belong to the old connection: the
        // broker requeues them; they must not run from here.
        ready.removeAll()
        readyHead = 0
        held.removeAll()
        for strategy in rateLimited { _ = strategy.rateLimiter?.removeAll() }
        window.reset()
        if !isStopping { scheduleReconnect(after: nil) }
    }

    /// Handles everything the connection has ready, without blocking.
    /// Returns true when it did something and more may be buffered.
    @discardableResult
    func drain() -> Bool {
        guard let conn = connection else { return false }
        var handled = 0
        do {
            while handled < 512, let event = try conn.nextEvent(timeout: 0) {
                handled += 1
                handle(event)
                if connection !== conn { return true }
            }
        } catch {
            connectionLost(error)
            return true
        }
        return handled > 0 && conn.hasBufferedData
    }

    func handle(_ event: BrokerEvent) {
        switch event {
        case .delivery(let d):
            if d.consumerTag == controlTag {
                receiveControl(d)
            } else if let session = mingle, d.consumerTag == session.client.replyConsumerTag {
                receiveMingleReply(d, session: session)
            } else if let g = gossip, d.consumerTag == g.consumerTag {
                receiveGossip(d, gossip: g)
            } else if let consumer = stepConsumers[d.consumerTag] {
                receiveRaw(d, step: consumer.step, queue: consumer.queue)
            } else {
                receive(d)
            }
        case .consumerCancelled(let tag):
            logger.warning("consumer: the broker cancelled consumer \(tag) (queue deleted?); reconnecting to declare the queues again")
            connectionLost(BrokerError(.protocolError, "consumer cancelled by the broker", detail: "basic.cancel for \(tag)", hint: "a queue was deleted; it is declared again"))
        case .channelClosed(let code, let text):
            logger.error("consumer: channel closed by the broker: \(code) \(text); reconnecting")
            connectionLost(BrokerError(.protocolError, "channel closed", detail: "\(code) \(text)", hint: "see the broker log"))
        case .blocked(let reason):
            logger.warning("consumer: the broker blocked publishing: \(reason)")
        case .unblocked:
            logger.info("consumer: the broker unblocked publishing")
        case .returned, .publisherAck, .publisherNack:
            break
        }
    }

    // MARK: Receipt (celery-wire §1.7)

    func receive(_ d: Delivery) {
        acks.delivered(d.deliveryTag)
        let message: TaskMessage
        do {
            message = try TaskMessageDecoder.decode(d, maxMessageSize: options.maxMessageSize)
        } catch {
            refuse(d, rejection: error)
            return
        }
        guard let strategy = strategies[message.taskName] else {
            logger.error("Received unregistered task of type '\(message.taskName)'. The message has been ignored and discarded. (id \(message.id))")
            registry.send(.taskUnknown, SignalPayload(sender: options.nodeName.name, pid: getpid(), taskID: message.id, taskName: message.taskName))
            events.taskNotRegistered(id: message.id, name: message.taskName)
            metrics?.messageRejected(.unregistered)
            reject(d, requeue: false)
            publishFailure(to: message.replyTo, taskID: message.id, correlationID: message.correlationID,
                           exception: .notRegistered(message.taskName))
            return
        }
        let argumentError = message.withArguments { strategy.task.checkArguments(args: $0, kwargs: $1) }
        if let argumentError {
            logger.error("Task \(message.displayName)[\(message.id)] refused: \(argumentError.type): \(argumentError.message)")
            events.taskFailed(id: message.id, error: argumentError)
            events.taskRejected(id: message.id, requeue: false)
            strategy.metrics?.rejected.increment()
            reject(d, requeue: false)
            if message.ignoreResult != true {
                publishFailure(to: message.replyTo, taskID: message.id, correlationID: message.correlationID, exception: argumentError)
            }
            // Python raises the TypeError inside the task: the chain and errbacks hear of it.
            dispatchErrbacks(of: message, ignoreResult: message.ignoreResult ?? strategy.ignoreResult, exception: argumentError)
            return
        }
        let request = Request(message: message, strategy: strategy, delivery: d, generation: generation)
        logger.info("Task \(request.label) received")
        registry.send(.taskReceived, SignalPayload(sender: options.nodeName.name, pid: getpid(), taskID: message.id,
                                                   taskName: message.taskName))
        events.taskReceived(message)
        strategy.metrics?.received.increment()
        let now = CeleryTime.now()
        if revokedSet.contains(message.id) {
            revoke(request, reason: "revoked")
            return
        }
        if message.isExpired(at: now) {
            revoke(request, reason: "expired")
            return
        }
        if let eta = message.eta, eta > now {
            hold(request, until: eta)
            return
        }
        admit(request)
    }

    /// A message that is not a valid task message.
    func refuse(_ d: Delivery, rejection: MessageRejection) {
        logger.error("Refused message from \(d.exchange.isEmpty ? "''" : d.exchange)/\(d.routingKey) (delivery \(d.deliveryTag)): \(rejection.description)")
        registry.send(.taskRejected, SignalPayload(sender: options.nodeName.name, pid: getpid(), taskID: rejection.taskID,
                                                   taskName: rejection.taskName, excType: rejection.exception.type,
                                                   excMessage: rejection.exception.message))
        metrics?.messageRejected(.invalid)
        reject(d, requeue: false)
        if rejection.canPublishFailure {
            publishFailure(to: rejection.replyTo, taskID: rejection.taskID!, correlationID: rejection.correlationID, exception: rejection.exception)
        }
    }

    /// Holds a request for its ETA on the Timer, unacknowledged, with the
    /// prefetch count raised by one (up to `--eta-limit`) so it does not
    /// take a running slot's place. When it is due it goes the way of any
    /// received task (rate limit, then the ready queue); `start` checks
    /// expiry and revocation again.
    func hold(_ request: Request, until eta: Double) {
        let key = ObjectIdentifier(request)
        held[key] = request
        holdOne()
        hub.timer.call(after: eta - CeleryTime.now()) { [unowned self] in
            guard self.held.removeValue(forKey: key) != nil else { return }
            self.window.release()
            self.admit(request)
        }
    }

    /// Counts one more held message (ETA or rate limit) in the window.
    func holdOne() {
        if window.hold() && qosGlobal {
            logger.warning("\(window.held) tasks held for an ETA or a rate limit (--eta-limit): the prefetch count stays at \(window.count); no more messages are taken beyond it until some are released")
        }
    }

    /// Sends `basic.qos` if the count changed this turn (see
    /// `PrefetchWindow`). Returns true when deliveries may wait in
    /// librabbitmq's buffer (the RPC can park them there).
    func applyPrefetch() -> Bool {
        guard let conn = connection, let count = window.pendingUpdate() else { return false }
        do {
            try conn.basicQos(prefetchCount: count, global: qosGlobal)
        } catch {
            connectionLost(error)
            return false
        }
        return conn.hasBufferedData
    }

    /// A received (or now due) request: to the ready queue, unless its task
    /// has a rate limit (then it waits for a token, see `scheduleBucket`).
    func admit(_ request: Request) {
        guard let limiter = request.strategy.rateLimiter else {
            enqueue(request)
            return
        }
        limiter.append(request)
        holdOne()
        scheduleBucket(limiter)
    }

    /// Moves the requests whose tokens are available to the ready queue,
    /// and wakes itself on the Timer when the next token is due (Celery's
    /// `_schedule_bucket_request`). Waiting requests stay unacknowledged and
    /// counted in the window, so other tasks' messages keep flowing.
    func scheduleBucket(_ limiter: RateLimiter<Request>) {
        let now = Timer.now()
        let admitted = limiter.admit(now: now)
        if !admitted.isEmpty {
            window.release(admitted.count)
            ready.append(contentsOf: admitted)
            dispatchReady()
        }
        if !limiter.isEmpty && limiter.wakeup == nil {
            limiter.wakeup = hub.timer.call(after: limiter.bucket.expectedTime(now: now)) { [unowned self, weak limiter] in
                guard let limiter else { return }
                limiter.wakeup = nil
                self.scheduleBucket(limiter)
            }
        }
    }

    /// A new rate limit for a task (`control rate_limit`), nil to lift it.
    /// Requests already waiting keep their order under the new rate, or all
    /// go to the ready queue when the limit is lifted.
    func setRateLimit(_ strategy: Strategy, to rate: RateLimit?) {
        let now = Timer.now()
        guard let rate else {
            guard let limiter = strategy.rateLimiter else { return }
            strategy.rateLimiter = nil
            let waiting = limiter.removeAll()
            window.release(waiting.count)
            ready.append(contentsOf: waiting)
            dispatchReady()
            return
        }
        if let limiter = strategy.rateLimiter {
            limiter.change(to: rate, now: now)
            limiter.wakeup?.cancel()
            limiter.wakeup = nil
            scheduleBucket(limiter)
        } else {
            strategy.rateLimiter = RateLimiter<Request>(limit: rate, now: now)
        }
    }

    func enqueue(_ request: Request) {
        ready.append(request)
        dispatchReady()
    }

    // MARK: Execution

    /// Starts ready requests while pool processes are idle.
    func dispatchReady() {
        pool.flushDeferred = true
        defer {
            pool.flushDeferred = false
            pool.flush()
        }
        while readyHead < ready.count, !isStopping {
            let request = ready[readyHead]
            guard pool.canDispatch(pipelineDepth: request.strategy.pipelineDepth) else { break }
            readyHead += 1
            start(request)
        }
        if readyHead < ready.count, !isStopping, let autoscaler { autoscaler.maybeScale() }
        if readyHead > 1024 && readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
    }

    func start(_ request: Request) {
        if revokedSet.contains(request.id) {
            revoke(request, reason: "revoked")
            return
        }
        if request.message.isExpired(at: CeleryTime.now()) {
            revoke(request, reason: "expired")
            return
        }
        let seq = nextSeq
        nextSeq += 1
        let m = request.message
        // Only a task that declares ctx can read the headers (ctx_headers_json).
        var headersJSON = "{}"
        if request.strategy.takesContext && !m.headers.members.isEmpty { headersJSON = JSON.object(m.headers).serialized }
        // The message's timelimit, else the task's (options or control
        // time_limit), else the worker's (--time-limit / --soft-time-limit).
        let hardTimeLimit = m.timeLimit.hard ?? request.strategy.hardTimeLimit ?? options.hardTimeLimit ?? 0
        let job = PoolJob(seq: seq, taskID: m.id, taskName: m.taskName, retries: Int64(m.retries), headersJSON: headersJSON,
                          args: Array(m.argsJSON), kwargs: Array(m.kwargsJSON),
                          softTimeLimit: m.timeLimit.soft ?? request.strategy.softTimeLimit ?? options.softTimeLimit ?? 0,
                          hardTimeLimit: hardTimeLimit, hostname: options.nodeName.name)
        guard let pid = pool.dispatch(job, pipelineDepth: request.strategy.pipelineDepth) else {
            readyHead -= 1  // put it back at the head
            ready[readyHead] = request
            return
        }
        request.seq = seq
        request.timeStart = CeleryTime.now()
        request.workerPID = pid
        running[seq] = request
        if hardTimeLimit > 0 { armHardTimeLimit(request, seconds: hardTimeLimit) }
        events.taskStarted(id: m.id)
        request.strategy.metrics?.started.increment()
        if !request.acksLate { ack(request) }
        if request.strategy.trackStarted, let queue = request.resultQueue {
            publish(ResultMessage(for: m, state: .started(pid: Int(request.workerPID ?? 0), hostname: options.nodeName.name)), to: queue)
        }
    }

    /// Handles what the pool reports.
    func handle(_ events: [PoolEvent]) {
        for event in events {
            switch event {
            case .completed(let seq, let outcome, let runtime, _):
                guard let request = running.removeValue(forKey: seq) else { continue }
                finish(request, outcome: outcome, runtime: runtime)
            case .lost(let seq, let pid, let exception):
                guard let request = running.removeValue(forKey: seq) else { continue }
                lost(request, pid: pid, exception: exception)
            case .unstarted(let seqs, let pid):
                let back = seqs.compactMap { running.removeValue(forKey: $0) }
                logger.warning("\(back.count) task\(back.count == 1 ? "" : "s") queued to pool process \(pid) never started; running them elsewhere")
                ready.insert(contentsOf: back, at: readyHead)
            case .processReady, .progress:
                break
            case .processExited, .restartsHalted:
                break  // the pool logs these itself
            }
        }
        dispatchReady()
    }

    func finish(_ request: Request, outcome: TaskOutcome, runtime: Double) {
        let m = request.message
        totals[m.taskName, default: 0] += 1
        request.strategy.observe(runtime: runtime)
        request.strategy.metrics?.runtime.recordSeconds(runtime)
        switch outcome {
        case .success(let result):
            request.strategy.metrics?.succeeded.increment()
            logger.info("Task \(request.label) succeeded in \(Self.seconds(runtime)): \(String(decoding: result.prefix(1024), as: UTF8.self))")
            events.taskSucceeded(id: m.id, resultJSON: result, runtime: runtime)
            // Callbacks and the next chain step go out first: the result lists them.
            let children = dispatchCallbacks(of: request, result: result)
            if let queue = request.resultQueue {
                publish(ResultMessage(for: m, state: .success(result: result), children: children), to: queue)
            }
        case .failure(let exception):
            request.strategy.metrics?.failed.increment()
            logger.error("Task \(request.label) raised unexpected: \(exception)")
            events.taskFailed(id: m.id, error: exception)
            if let queue = request.resultQueue {
                publish(ResultMessage(for: m, state: .failure(exception, traceback: exception.traceback)), to: queue)
            }
            dispatchErrbacks(of: m, ignoreResult: request.ignoreResult, exception: exception)
        case .retry(let countdown, let reason):
            retry(request, countdown: countdown, reason: reason)
        }
        if request.acksLate {
            if case .failure = outcome { settleFailed(request) } else { ack(request) }
        }
    }

    /// A late-acked task failed: ack it, or with acks_on_failure_or_timeout
    /// off reject it without requeue, so the queue's dead-letter exchange
    /// (if any) gets it.
    func settleFailed(_ request: Request) {
        if request.strategy.acksOnFailureOrTimeout {
            ack(request)
        } else {
            rejectRequest(request, requeue: false)
            events.taskRejected(id: request.id, requeue: false)
            request.strategy.metrics?.rejected.increment()
        }
    }

    /// Re-publishes the task for a retry (celery-wire §3.1), then RETRY.
    func retry(_ request: Request, countdown: Double, reason: String?) {
        let m = request.message
        let (properties, body) = TaskMessageEncoder.retry(of: m, countdown: countdown).encode()
        let exchange = request.exchange
        let routingKey = request.routingKey
        guard let conn = connection else {
            logger.error("Task \(request.label) asked for a retry while the broker is unreachable; it is lost unless acks_late redelivers it")
            return
        }
        do {
            try conn.basicPublish(exchange: exchange, routingKey: routingKey, properties: properties, body: body)
        } catch {
            logger.error("Task \(request.label): retry could not be published: \(error.logLine)")
            connectionLost(error)
            return
        }
        let text = "Retry in \(Self.seconds(countdown))" + (reason.map { ": \($0)" } ?? "")
        logger.info("Task \(request.label) retry: \(text)")
        request.strategy.metrics?.retried.increment()
        events.taskRetried(id: m.id, error: TaskException(type: "Retry", module: "celery.exceptions", message: text))
        if let queue = request.resultQueue {
            let exception = TaskException(type: "Retry", module: "celery.exceptions", message: text)
            publish(ResultMessage(for: m, state: .retry(exception, traceback: nil), children: [.task(m.id)]), to: queue)
        }
    }

    /// The hard time limit (celery-wire §3.5): a task still running after
    /// it has its pool process killed (SIGKILL) and fails with
    /// `TimeLimitExceeded`, as in Celery; the pool replaces the process.
    func armHardTimeLimit(_ request: Request, seconds: Double) {
        let seq = request.seq
        hub.timer.call(after: seconds) { [weak self, weak request] in
            guard let self, let request, self.running[seq] === request, let pid = request.workerPID,
                  request.terminatedBy == nil else { return }
            self.logger.error("Hard time limit (\(Self.format6(seconds))s) exceeded for \(request.label)")
            request.hardTimeLimitExceeded = seconds
            _ = self.pool.kill(pid: pid, signal: SIGKILL)
        }
    }

    /// The pool process running `request` died.
    func lost(_ request: Request, pid: Int32, exception: TaskException) {
        if let limit = request.hardTimeLimitExceeded {
            let error = TaskException(type: "TimeLimitExceeded", module: "billiard.exceptions", message: PythonRepr.float(limit))
            events.taskFailed(id: request.id, error: error)
            if let queue = request.resultQueue {
                publish(ResultMessage(for: request.message, state: .failure(error, traceback: nil)), to: queue)
            }
            // Celery's on_timeout marks it failed: the chain and errbacks hear of it.
            dispatchErrbacks(of: request.message, ignoreResult: request.ignoreResult, exception: error)
            if request.acksLate { ack(request) }
            return
        }
        if let signal = request.terminatedBy {
            logger.info("Task \(request.label) terminated by signal \(signal) (revoke with terminate)")
            registry.send(.taskRevoked, SignalPayload(sender: options.nodeName.name, pid: getpid(), taskID: request.id, taskName: request.message.taskName))
            events.taskRevoked(id: request.id, terminated: true, signum: signal, expired: false)
            request.strategy.metrics?.revoked.increment()
            if let queue = request.resultQueue { publish(ResultMessage(for: request.message, state: .revoked(reason: "terminated")), to: queue) }
            ack(request)
            return
        }
        if request.acksLate && request.strategy.rejectOnWorkerLost && !request.redelivered {
            logger.error("Task \(request.label): pool process \(pid) died; requeued once (reject_on_worker_lost)")
            rejectRequest(request, requeue: true)
            events.taskRejected(id: request.id, requeue: true)
            request.strategy.metrics?.rejected.increment()
            return
        }
        events.taskFailed(id: request.id, error: exception)
        request.strategy.metrics?.failed.increment()
        logger.error("Task handler raised error: \(exception) (task \(request.label), pool process \(pid))")
        if let queue = request.resultQueue {
            publish(ResultMessage(for: request.message, state: .failure(exception, traceback: nil)), to: queue)
        }
        dispatchErrbacks(of: request.message, ignoreResult: request.ignoreResult, exception: exception)
        if request.acksLate { settleFailed(request) }
    }

    func revoke(_ request: Request, reason: String) {
        if reason == "expired" { revokedSet.insert(request.id, now: Timer.now()) }
        logger.info("Discarding revoked task: \(request.label) (\(reason))")
        registry.send(.taskRevoked, SignalPayload(sender: options.nodeName.name, pid: getpid(), taskID: request.id, taskName: request.message.taskName))
        events.taskRevoked(id: request.id, terminated: false, signum: nil, expired: reason == "expired")
        request.strategy.metrics?.revoked.increment()
        if let queue = request.resultQueue { publish(ResultMessage(for: request.message, state: .revoked(reason: reason)), to: queue) }
        ack(request)
    }

    // MARK: Acknowledgement and publishing

    /// Acknowledges at the end of this Hub turn (see AckBatcher).
    func ack(_ request: Request) {
        guard !request.acknowledged, request.generation == generation, connection != nil else { return }
        request.acknowledged = true
        acks.ack(request.deliveryTag)
    }

    /// Sends the acks collected this turn.
    func flushAcks() {
        guard let conn = connection, acks.pending > 0 else { return }
        do {
            for a in acks.flush() {
                switch a {
                case .multiple(let tag): try conn.basicAck(deliveryTag: tag, multiple: true)
                case .single(let tag): try conn.basicAck(deliveryTag: tag, multiple: false)
                }
            }
        } catch {
            connectionLost(error)
        }
    }

    func rejectRequest(_ request: Request, requeue: Bool) {
        guard !request.acknowledged, request.generation == generation else { return }
        request.acknowledged = true
        reject(tag: request.deliveryTag, requeue: requeue)
    }

    func reject(_ d: Delivery, requeue: Bool) {
        reject(tag: d.deliveryTag, requeue: requeue)
    }

    func reject(tag: UInt64, requeue: Bool) {
        guard let conn = connection else { return }
        acks.settle(tag)
        do {
            try conn.basicReject(deliveryTag: tag, requeue: requeue)
        } catch {
            connectionLost(error)
        }
    }

    func publishFailure(to replyTo: String?, taskID: String, correlationID: String?, exception: TaskException) {
        guard let replyTo, !replyTo.isEmpty else { return }
        publish(ResultMessage(taskID: taskID, state: .failure(exception, traceback: nil), correlationID: correlationID), to: replyTo)
    }

    /// Publishes a result to the default exchange, routed to `queue`.
    func publish(_ result: ResultMessage, to queue: String) {
        publish(exchange: "", routingKey: queue, properties: result.properties, body: result.body)
    }

    func publish(exchange: String, routingKey: String, properties: MessageProperties, body: [UInt8]) {
        guard let conn = connection else {
            if outbox.count < Self.outboxLimit {
                outbox.append((exchange, routingKey, properties, body))
            } else {
                logger.error("result for \(properties.correlationID ?? "?") dropped: the broker has been unreachable for \(Self.outboxLimit) results")
            }
            return
        }
        do {
            try conn.basicPublish(exchange: exchange, routingKey: routingKey, properties: properties, body: body)
        } catch {
            outbox.append((exchange, routingKey, properties, body))
            connectionLost(error)
        }
    }

    func flushOutbox() {
        let pending = outbox
        outbox.removeAll()
        for p in pending { publish(exchange: p.exchange, routingKey: p.routingKey, properties: p.properties, body: p.body) }
    }

    // MARK: Shutdown

    /// Warm shutdown, first half: stop consuming and give back every
    /// message not yet started. Running tasks go on; `isIdle` tells when
    /// they are done.
    func stopConsuming() {
        guard !isStopping else { return }
        isStopping = true
        guard let conn = connection else { return }
        flushAcks()
        for tag in taskQueueTags.keys { try? conn.basicCancel(consumerTag: tag) }
        taskQueueTags = [:]
        var given = 0
        var waiting: [Request] = []
        for strategy in rateLimited { waiting += strategy.rateLimiter?.removeAll() ?? [] }
        for request in ready[readyHead...] + Array(held.values) + waiting {
            rejectRequest(request, requeue: true)
            given += 1
        }
        ready.removeAll()
        readyHead = 0
        held.removeAll()
        window.reset()
        if given > 0 { logger.info("Gave back \(given) unstarted message\(given == 1 ? "" : "s") to the broker") }
    }

    /// No task is running.
    var isIdle: Bool { running.isEmpty }

    /// Task messages delivered and not yet settled: waiting for a pool
    /// process, held for their ETA, or running with a late ack. This is
    /// what counts against the prefetch window. Walks the requests: for a
    /// scrape, not for the hot path.
    var unackedTaskMessages: Int {
        var n = window.held
        for r in ready[readyHead...] where !r.acknowledged { n += 1 }
        for r in running.values where !r.acknowledged { n += 1 }
        return n
    }

    /// The broker connection as `/healthz` reports it.
    var connectionState: String {
        connection != nil ? "connected" : (generation == 0 ? "connecting" : "reconnecting")
    }

    /// Closes the connection (after a warm shutdown finished, or cold).
    func close() {
        heartbeatEntry?.cancel()
        flushAcks()
        guard let conn = connection else { return }
        hub.remove(registeredFD)
        registeredFD = -1
        conn.close()
        connection = nil
    }

    static func seconds(_ s: Double) -> String {
        if s < 0.001 { return String(format6(s)) + "s" }
        return format6(s) + "s"
    }

    static func format6(_ s: Double) -> String {
        let micros = (s * 1_000_000).rounded()
        let whole = Int64(micros) / 1_000_000
        var frac = String(Int64(micros) % 1_000_000)
        frac = String(repeating: "0", count: 6 - frac.count) + frac
        while frac.hasSuffix("0") && frac.count > 1 { frac.removeLast() }
        return "\(whole).\(frac)"
    }
}
