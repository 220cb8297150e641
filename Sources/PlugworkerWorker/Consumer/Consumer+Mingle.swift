import PlugworkerBroker
import PlugworkerCore

/// The Mingle step (Celery's `worker/consumer/mingle.py`; on unless
/// `--without-mingle`): on every new connection, before the task queues are
/// consumed, ask the other nodes `hello` and wait `mingleTimeout` seconds
/// for their replies, then merge their revoked ids and move the clock past
/// theirs. As in Celery the wait is the whole timeout (nobody knows how many
/// nodes will answer), so "ready." comes about a second later; unlike
/// Celery it does not block the loop: the replies come through the Hub, the
/// AMQP heartbeats, the pool and signals are served meanwhile, and the
/// mailbox already answers other nodes. Only the task consumers wait.
extension Consumer {
    /// Seconds to wait for replies (Celery's `inspect(timeout=1.0)`).
    static let mingleTimeout = 1.0

    func startMingle() {
        addConnectedHook { [unowned self] conn throws(BrokerError) in try self.beginMingle(on: conn) }
    }

    /// Broadcasts `hello(from_node, revoked)` from a private reply queue.
    func beginMingle(on conn: AMQPConnection) throws(BrokerError) {
        mingle?.deadline?.cancel()
        mingle = nil
        logger.info("mingle: searching for neighbors")
        revokedSet.purge(now: Timer.now())
        // The client numbers the request with the next tick of our clock.
        let client = ControlClient(connection: conn, clock: tick() - 1)
        let arguments = JSONObject([.init("from_node", .string(nodeName)),
                                    .init("revoked", .array(revokedSet.ids.map(JSON.string)))])
        let ticket = try client.send("hello", arguments: arguments, timeout: Self.mingleTimeout)
        let session = MingleSession(client: client, ticket: ticket)
        session.deadline = hub.timer.call(after: Self.mingleTimeout) { [unowned self, weak session] in
            if let session { self.finishMingle(session) }
        }
        mingle = session
    }

    /// A delivery to the mingle reply queue.
    func receiveMingleReply(_ d: Delivery, session: MingleSession) {
        guard let replies = session.client.replies(in: d, ticket: session.ticket) else { return }
        session.replies += replies
    }

    /// The wait is over: merge, log as Celery does, then consume the task
    /// queues and announce readiness.
    func finishMingle(_ session: MingleSession) {
        guard mingle === session else { return }
        mingle = nil
        // The connection was lost meanwhile: the next one mingles again.
        guard let conn = connection, conn === session.client.connection else { return }
        do {
            try session.client.finish()
        } catch {
            connectionLost(error)
            return
        }
        adjustClock(session.client.clock)
        let sync = MingleSync(replies: session.replies, ownNode: nodeName)
        if sync.heard == 0 {
            logger.info("mingle: all alone")
        } else {
            logger.info("mingle: sync with \(sync.nodes.count) nodes")
            for node in sync.nodes { logger.debug("mingle: processing reply from \(node)") }
            for f in sync.failures { logger.error("mingle: sync with \(f.node) failed: \(f.reason)") }
            for c in sync.clocks { adjustClock(c) }
            let now = Timer.now()
            for id in sync.revoked { revokedSet.insert(id, now: now) }
            logger.info("mingle: sync complete")
        }
        guard tasksStarted, !isStopping else { return }
        do {
            try consumeTaskQueues(conn)
        } catch {
            connectionLost(error)
            return
        }
        announceReady()
    }
}
