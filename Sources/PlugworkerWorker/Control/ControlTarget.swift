import PlugworkerCore

/// What a worker provides to remote control: answers to questions and the
/// actions commands ask for. `ControlDispatcher` does everything else —
/// argument parsing, node matching, the Lamport clock bookkeeping, the
/// payload shapes and texts of spec §5.4 — so an implementation only reads
/// and changes its own state.
///
/// All calls happen on the thread that handles the mailbox queue (the
/// worker's Hub); they should return promptly: clients wait 1 s by default.
/// Actions that take time (consuming a new queue, growing the pool,
/// shutting down) may be started here and finished later, as Python does
/// with `call_soon`.
public protocol ControlTarget: AnyObject {
    // MARK: Identity and clock

    /// The node name, `name@host`: the key of every reply and what
    /// `destination` and `pattern` select.
    var nodeName: String { get }

    /// The node's Lamport clock now (`clock`, `stats`).
    var clock: Int { get }
    /// Moves the clock past one received: `max(clock, received) + 1`.
    /// Called for every request, even those meant for other nodes.
    func adjustClock(_ received: Int)
    /// Adds 1 for something sent and returns the new value (reply headers).
    func forwardClock() -> Int

    // MARK: Questions

    /// Every registered task: its name and its options that are set, as
    /// `(attribute, str(value))` pairs in Python's spelling, e.g.
    /// `("rate_limit", "10/m")`, `("acks_late", "False")`
    /// (`TaskOptions.summary` gives these). Names starting `celery.` are
    /// hidden unless the client asks for built-ins.
    func registeredTasks() -> [(name: String, options: [(String, String)])]
    /// Requests running in the pool.
    func active() -> [RequestInfo]
    /// Requests received and waiting for a pool process (not the running
    /// ones, not those held for an ETA).
    func reserved() -> [RequestInfo]
    /// Requests held for their ETA: ETA as ISO-8601 (`CeleryTime.format`),
    /// the timer priority (0 unless you have one), the request.
    func scheduled() -> [(eta: String, priority: Int, request: RequestInfo)]
    /// Revoked task ids currently remembered.
    func revoked() -> [String]
    /// The raw numbers behind `stats`.
    func stats() -> WorkerStats
    /// The queues being consumed.
    func activeQueues() -> [QueueDescription]
    /// The settings as name → JSON value (secrets are censored by the
    /// dispatcher). `withDefaults`: include settings left at their default.
    func conf(withDefaults: Bool) -> JSONObject
    /// The loaded plugins, for `report`.
    func plugins() -> [(name: String, version: String?, path: String)]
    /// Every plugin module, live, replaced or removed, and every refused
    /// file, for `inspect plugins` (plugworker's own command).
    func pluginListing() -> [PluginListing]

    // MARK: Actions

    /// Sets (or with nil, removes) a task's rate limit.
    /// - Throws: `ControlError.unknownTask` when there is no such task.
    func rateLimit(task: String, rate: RateLimit?) throws(ControlError)
    /// Sets a task's soft and hard time limits in seconds (nil: none).
    /// - Throws: `ControlError.unknownTask` when there is no such task.
    func timeLimit(task: String, soft: Double?, hard: Double?) throws(ControlError)
    /// Adds `ids` to the revoked set; with `terminate`, also sends `signal`
    /// to the pool processes running any of them.
    /// - Returns: the ids of the running tasks that were signalled (empty
    ///   without `terminate`).
    func revoke(ids: [String], terminate: Bool, signal: Int32) -> [String]
    /// Adds `n` pool processes (and raises the prefetch count to match).
    /// - Throws: `ControlError.growWithAutoscale` while autoscaling.
    func poolGrow(_ n: Int) throws(ControlError)
    /// Removes `n` pool processes (and lowers the prefetch count).
    /// - Throws: `ControlError.shrinkWithAutoscale` while autoscaling.
    func poolShrink(_ n: Int) throws(ControlError)
    /// Changes the autoscale limits (nil: keep); returns the new ones.
    /// - Throws: `ControlError.autoscaleNotEnabled` when not autoscaling
    ///   (the default implementation does just that).
    func autoscale(max: Int?, min: Int?) throws(ControlError) -> (max: Int, min: Int)
    /// Starts consuming `queue`, declaring it (and, unless given, a direct
    /// exchange of the same name bound with the queue name as key) if need
    /// be. `options` holds any further queue options the client sent.
    func addConsumer(queue: String, exchange: String?, exchangeType: String, routingKey: String?,
                     options: JSONObject)
    /// Stops consuming `queue`.
    func cancelConsumer(queue: String)
    /// Switches task events on; returns true when they already were on.
    func enableEvents() -> Bool
    /// Switches task events off; returns true when they already were off.
    func disableEvents() -> Bool
    /// Sends a `worker-heartbeat` event now.
    func sendHeartbeat()
    /// Begins a warm shutdown (the request gets no reply).
    func shutdown(message: String)
    /// Mingle (§7.1): another node `fromNode` starts and sends the revoked
    /// ids it knows. Merge them, then return yours and your clock, advanced
    /// with `forwardClock()`. Never called for your own hello.
    func hello(fromNode: String, revoked: [String]) -> (revoked: [String], clock: Int)
}

extension ControlTarget {
    /// No plugin table: an empty listing.
    public func pluginListing() -> [PluginListing] { [] }

    /// Not autoscaling: refuses, as Python does.
    public func autoscale(max: Int?, min: Int?) throws(ControlError) -> (max: Int, min: Int) {
        throw ControlError.autoscaleNotEnabled
    }
}
