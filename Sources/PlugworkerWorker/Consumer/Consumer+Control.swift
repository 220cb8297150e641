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

    /// The tasks and their options; `rate_limit` as it is now (the plugin's,
    /// or the last `control rate_limit`).
    func registeredTasks() -> [(name: String, options: [(String, String)])] {
        registry.taskNames.map { name in
            var options = (registry.task(named: name)?.options.summary ?? []).filter { $0.0 != "rate_limit" }
            if let limiter = strategies[name]?.rateLimiter { options.insert(("rate_limit", limiter.limit.text), at: 0) }
            return (name, options)
        }
    }

    func active() -> [RequestInfo] {
        running.keys.sorted().compactMap { running[$0] }.map(info)
    }

    /// Waiting for a pool process, then waiting for a rate-limit token.
    func reserved() -> [RequestInfo] {
        var out = ready[readyHead...].map(info)
        for strategy in rateLimited { out += strategy.rateLimiter?.requests.map(info) ?? [] }
        return out
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
                    processes: pool.processes.filter { !$0.retiring }.map { Int($0.pid) },
                    maxTasksPerChild: options.maxTasksPerChild,
                    softTimeLimit: options.softTimeLimit ?? 0, hardTimeLimit: options.hardTimeLimit ?? 0,
                    broker: url, brokerHeartbeat: Double(connection?.negotiatedHeartbeat ?? options.brokerHeartbeat),
                    prefetchCount: Int(prefetchCount), autoscaler: autoscaler?.info)
    }

    func activeQueues() -> [QueueDescription] { taskQueues }

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
        o["task_acks_on_failure_or_timeout"] = .bool(options.acksOnFailureOrTimeout)
        o["task_reject_on_worker_lost"] = .bool(options.rejectOnWorkerLost)
        o["task_queue_max_priority"] = options.queueMaxPriority.map { .int(Int64($0)) } ?? .null
        o["task_default_queue_type"] = .string(options.queueType ?? "classic")
        o["worker_detect_quorum_queues"] = .bool(true)
        o["worker_state_db"] = options.statedb.map(JSON.string) ?? .null
        o["accept_content"] = .array([.string("json")])
        o["worker_max_tasks_per_child"] = options.maxTasksPerChild.map { .int(Int64($0)) } ?? .null
        o["worker_max_memory_per_child"] = options.maxMemoryPerChild.map { .int(Int64($0)) } ?? .null
        o["task_time_limit"] = options.hardTimeLimit.map { .double($0) } ?? .null
        o["task_soft_time_limit"] = options.softTimeLimit.map { .double($0) } ?? .null
        return o
    }

    func plugins() -> [(name: String, version: String?, path: String)] {
        registry.modules.map { ($0.name, $0.version, $0.sourcePath) }
    }

    func pluginListing() -> [PluginListing] { registry.listing() }

    /// Changes the task's token bucket at once (nil: no limit); waiting
    /// requests keep their order.
    func rateLimit(task: String, rate: RateLimit?) throws(ControlError) {
        guard let strategy = strategies[task] else { throw .unknownTask }
        setRateLimit(strategy, to: rate)
        logger.info("pidbox: rate limit for \(task) \(rate.map { "set to \($0.text)" } ?? "disabled")")
    }

    /// For tasks started from now on; 0 or nil means no limit.
    func timeLimit(task: String, soft: Double?, hard: Double?) throws(ControlError) {
        guard let strategy = strategies[task] else {
            logger.error("Change time limit attempt for unknown task \(task)")
            throw .unknownTask
        }
        strategy.softTimeLimit = soft.flatMap { $0 > 0 ? $0 : nil }
        strategy.hardTimeLimit = hard.flatMap { $0 > 0 ? $0 : nil }
        logger.info("New time limits for tasks of type \(task): soft=\(soft.map { "\($0)" } ?? "None") hard=\(hard.map { "\($0)" } ?? "None")")
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

    /// As Celery 5: refused while autoscaling (change the range instead);
    /// the prefetch count follows the new size.
    func poolGrow(_ n: Int) throws(ControlError) {
        if autoscaler != nil { throw .growWithAutoscale }
        pool.grow(n)
        setPrefetchConcurrency(pool.concurrency)
    }

    func poolShrink(_ n: Int) throws(ControlError) {
        if autoscaler != nil { throw .shrinkWithAutoscale }
        pool.shrink(n)
        setPrefetchConcurrency(pool.concurrency)
    }

    func autoscale(max: Int?, min: Int?) throws(ControlError) -> (max: Int, min: Int) {
        guard let autoscaler else { throw .autoscaleNotEnabled }
        return autoscaler.update(max: max, min: min)
    }

    /// Celery's defaults: a durable direct exchange named after the queue
    /// (unless given), the queue name as routing key. Further queue options
    /// are not used.
    func addConsumer(queue: String, exchange: String?, exchangeType: String, routingKey: String?, options: JSONObject) {
        addTaskQueue(QueueDescription(name: queue, exchange: exchange, exchangeType: exchangeType,
                                      routingKey: routingKey))
    }

    func cancelConsumer(queue: String) { cancelTaskQueue(queue) }

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

    /// Another node's mingle: merge its revoked ids, answer with ours
    /// (expired ones dropped first, as Celery does) and the clock.
    func hello(fromNode: String, revoked ids: [String]) -> (revoked: [String], clock: Int) {
        logger.info("sync with \(fromNode)")
        let now = Timer.now()
        for id in ids { revokedSet.insert(id, now: now) }
        revokedSet.purge(now: now)
        return (revokedSet.ids, tick())
    }
}
