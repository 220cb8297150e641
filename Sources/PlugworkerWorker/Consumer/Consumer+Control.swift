#if canImport(Glibc)
import Glibc
#endif
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// The Control step: the node's mailbox (`<node>.celery.pidbox`, celery-wire
/// §5.1), answered by `ControlDispatcher` with this consumer as the target.
extension Consumer {
    /// Declares the mailbox as Celery 5.7 does and consumes it (no acks).
    func startControl() {
        addConnectedHook { [unowned self] conn throws(BrokerError) in
            try conn.exchangeDeclare(name: "celery.pidbox", type: "fanout", durable: false, autoDelete: false)
            let queue = "\(self.options.nodeName.name).celery.pidbox"
            _ = try conn.queueDeclare(name: queue, durable: false, exclusive: true, autoDelete: true,
                                      arguments: JSONObject([.init("x-expires", .int(10000)), .init("x-message-ttl", .int(300_000))]))
            try conn.queueBind(queue: queue, exchange: "celery.pidbox", routingKey: "")
            self.controlTag = try conn.basicConsume(queue: queue, noAck: true)
        }
    }

    /// One control request: filter, act, reply (calls only).
    func receiveControl(_ d: Delivery) {
        let request: PidboxRequest
        do {
            request = try PidboxRequest(delivery: d)
        } catch {
            logger.error("pidbox: refused a control message: \(error)")
            return
        }
        if let c = request.clock { adjustClock(c) }
        guard request.matches(node: options.nodeName.name), !request.isExpired(now: CeleryTime.now()) else { return }
        logger.debug("pidbox: \(request.method) \(JSON.object(request.arguments).serialized)")
        guard let reply = ControlDispatcher.reply(to: request, target: self) else { return }
        publish(exchange: reply.exchange, routingKey: reply.routingKey, properties: reply.properties, body: reply.body)
    }

    /// A request's task as `inspect` shows it.
    func info(_ r: Request) -> RequestInfo {
        let m = r.message
        let args = (try? JSON.parse(m.argsJSON))?.arrayValue ?? []
        let kwargs = (try? JSON.parse(m.kwargsJSON))?.objectValue ?? JSONObject()
        return RequestInfo(id: m.id, name: m.displayName, type: m.taskName, args: args, kwargs: kwargs,
                           argsrepr: m.argsrepr, kwargsrepr: m.kwargsrepr, hostname: options.nodeName.name,
                           timeStart: r.timeStart, acknowledged: r.acknowledged, exchange: r.exchange,
                           routingKey: r.routingKey, priority: Int(m.priority ?? 0), redelivered: r.redelivered,
                           workerPID: r.workerPID.map(Int.init))
    }
}

extension Consumer: ControlTarget {
    var nodeName: String { options.nodeName.name }

    func forwardClock() -> Int { tick() }

    func registeredTasks() -> [(name: String, options: [(String, String)])] {
        registry.taskNames.map { name in (name, registry.task(named: name)?.options.summary ?? []) }
    }

    func active() -> [RequestInfo] {
        running.keys.sorted().compactMap { running[$0] }.map(info)
    }

    func reserved() -> [RequestInfo] {
        ready[readyHead...].map(info)
    }

    func scheduled() -> [(eta: String, priority: Int, request: RequestInfo)] {
        held.values.map { r in
            (r.message.etaText ?? r.message.eta.map(CeleryTime.format) ?? "", 6, info(r))
        }
    }

    func revoked() -> [String] { revokedSet.ids }

    func stats() -> WorkerStats {
        WorkerStats(totals: totals.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, pid: Int(getpid()),
                    uptime: Timer.now() - startedAt, maxConcurrency: pool.concurrency,
                    processes: pool.processes.map { Int($0.pid) }, broker: url,
                    brokerHeartbeat: Double(connection?.negotiatedHeartbeat ?? options.brokerHeartbeat),
                    prefetchCount: Int(prefetchCount))
    }

    func activeQueues() -> [QueueDescription] {
        options.queues.map { QueueDescription(name: $0) }
    }

    func conf(withDefaults: Bool) -> JSONObject {
        var o = JSONObject()
        o["broker_url"] = .string(url.masked)
        o["result_backend"] = .string("rpc://")
        o["worker_concurrency"] = .int(Int64(options.concurrency))
        o["worker_prefetch_multiplier"] = .int(Int64(options.prefetchMultiplier))
        o["task_acks_late"] = .bool(options.acksLate)
        o["task_reject_on_worker_lost"] = .bool(options.rejectOnWorkerLost)
        o["worker_send_task_events"] = .bool(events.enabled)
        o["broker_heartbeat"] = .int(Int64(options.brokerHeartbeat))
        o["task_default_queue"] = .string(options.queues.first ?? "celery")
        o["accept_content"] = .array([.string("json")])
        return o
    }

    func plugins() -> [(name: String, version: String?, path: String)] {
        registry.modules.map { ($0.name, $0.version, $0.sourcePath) }
    }

    func pluginListing() -> [PluginListing] { registry.listing() }

    /// Rate and time limits are enforced from the task-semantics release on;
    /// until then the commands say so instead of pretending.
    func rateLimit(task: String, rate: RateLimit?) throws(ControlError) {
        guard strategies[task] != nil else { throw .unknownTask }
        throw ControlError("rate limits are not enforced by this plugworker yet")
    }

    func timeLimit(task: String, soft: Double?, hard: Double?) throws(ControlError) {
        guard strategies[task] != nil else { throw .unknownTask }
        throw ControlError("time limits cannot be changed at run time by this plugworker yet")
    }

    func revoke(ids: [String], terminate: Bool, signal: Int32) -> [String] {
        let now = Timer.now()
        for id in ids { revokedSet.insert(id, now: now) }
        guard terminate else { return [] }
        var terminated: [String] = []
        for r in running.values where ids.contains(r.id) {
            if let pid = r.workerPID, pool.kill(pid: pid, signal: signal) {
                r.terminatedBy = signal
                terminated.append(r.id)
            }
        }
        return terminated
    }

    func poolGrow(_ n: Int) throws(ControlError) { pool.grow(n) }

    func poolShrink(_ n: Int) throws(ControlError) { pool.shrink(n) }

    func autoscale(max: Int?, min: Int?) throws(ControlError) -> (max: Int, min: Int) {
        throw .autoscaleNotEnabled
    }

    func addConsumer(queue: String, exchange: String?, exchangeType: String, routingKey: String?, options: JSONObject) {
        logger.warning("pidbox: add_consumer \(queue) is not supported yet; start the worker with -Q \(queue)")
    }

    func cancelConsumer(queue: String) {
        logger.warning("pidbox: cancel_consumer \(queue) is not supported yet")
    }

    func enableEvents() -> Bool {
        defer { events.enabled = true }
        return events.enabled
    }

    func disableEvents() -> Bool {
        defer { events.enabled = false }
        return !events.enabled
    }

    func sendHeartbeat() {
        events.workerHeartbeat(active: running.count, processed: processed)
    }

    func shutdown(message: String) {
        logger.warning("pidbox: shutdown requested\(message.isEmpty ? "" : ": " + message)")
        onShutdownRequest?()
    }

    func hello(fromNode: String, revoked ids: [String]) -> (revoked: [String], clock: Int) {
        let now = Timer.now()
        for id in ids { revokedSet.insert(id, now: now) }
        return (revokedSet.ids, tick())
    }
}
