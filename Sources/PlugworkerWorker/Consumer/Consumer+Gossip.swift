import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// The Gossip step (unless `--without-gossip`, as in Celery): consumes the
/// other workers' `worker.#` events from `celeryev` through a private
/// queue, keeps the clock past theirs, notes nodes joining, leaving and
/// lost, and answers elections (see `Gossip`).
extension Consumer {
    func startGossip() {
        let g = Gossip()
        gossip = g
        g.entry = hub.timer.callRepeatedly(every: Gossip.interval) { [unowned self] in self.checkGossipNodes() }
        addConnectedHook { [unowned self, unowned g] conn throws(BrokerError) in
            let queue = "celeryev.\(UUID4.make())"
            _ = try conn.queueDeclare(name: queue, durable: false, exclusive: true, autoDelete: true,
                                      arguments: Gossip.queueArguments)
            try conn.queueBind(queue: queue, exchange: Event.exchange, routingKey: "worker.#")
            g.consumerTag = try conn.basicConsume(queue: queue, noAck: true)
        }
    }

    func stopGossip() {
        gossip?.entry?.cancel()
    }

    /// One worker event from the gossip queue.
    func receiveGossip(_ d: Delivery, gossip g: Gossip) {
        guard case .object(let body)? = try? JSON.parse(d.body) else { return }
        switch d.routingKey {
        case "worker.elect":
            // Every node acks every request, its own sender's included.
            guard let id = body["id"]?.stringValue else {
                logger.error("election request missing field 'id'")
                return
            }
            logger.debug("gossip: election \(id) (topic \(body["topic"]?.stringValue ?? "?")): acknowledged")
            events.workerElectAck(id: id)
            return
        case "worker.elect.ack":
            return  // this node never stands
        default:
            break
        }
        let hostname = d.properties.headers?["hostname"]?.stringValue ?? body["hostname"]?.stringValue ?? ""
        if hostname == nodeName {
            _ = tick()
            return
        }
        if let c = body["clock"]?.int64Value { adjustClock(Int(clamping: c)) }
        let type = body["type"]?.stringValue ?? d.routingKey.replacing(".", with: "-")
        switch g.nodes.event(type: type, hostname: hostname, freq: body["freq"]?.doubleValue, now: Timer.now()) {
        case .joined: logger.debug("\(hostname) joined the party")
        case .left: logger.debug("\(hostname) left")
        case .none: break
        }
    }

    /// Every `Gossip.interval`: the nodes whose heartbeats stopped.
    func checkGossipNodes() {
        guard let g = gossip else { return }
        for name in g.nodes.lost(now: Timer.now()) { logger.info("missed heartbeat from \(name)") }
    }
}
