import PlugworkerCore

extension Event {
    /// What the three worker events report besides the common fields
    /// (§6.3): heartbeat interval, task counts, load and software identity.
    public struct WorkerStatus: Sendable, Equatable {
        /// The heartbeat interval in seconds; receivers call the worker
        /// offline after `2 × freq` without a heartbeat.
        public var freq: Double
        /// Tasks running now.
        public var active: Int
        /// Tasks finished since the worker started.
        public var processed: Int
        /// 1, 5 and 15 minute load averages, rounded to 2 places.
        public var loadavg: [Double]
        /// Software identity shown by Flower (`sw_ident`, `sw_ver`, `sw_sys`).
        public var swIdent: String
        public var swVer: String
        public var swSys: String

        public init(freq: Double = 2.0, active: Int, processed: Int, loadavg: [Double] = Event.loadAverage(),
                    swIdent: String = Event.softwareIdent, swVer: String = Event.softwareVersion,
                    swSys: String = Event.softwareSystem) {
            self.freq = freq
            self.active = active
            self.processed = processed
            self.loadavg = loadavg
            self.swIdent = swIdent
            self.swVer = swVer
            self.swSys = swSys
        }
    }

    /// `sw_ident` of our worker events.
    public static let softwareIdent = "plugworker"
    /// `sw_ver` of our worker events (the version the banner shows).
    public static let softwareVersion = "0.1.0"
    /// `sw_sys` of our worker events (Python's `platform.system()`).
    public static let softwareSystem = "Linux"

    /// `worker-online`: sent once, when events start.
    public static func workerOnline(_ common: Common, _ status: WorkerStatus) -> Event {
        worker("worker-online", common, status)
    }

    /// `worker-heartbeat`: sent every `freq` seconds.
    public static func workerHeartbeat(_ common: Common, _ status: WorkerStatus) -> Event {
        worker("worker-heartbeat", common, status)
    }

    /// `worker-offline`: sent on orderly shutdown; receivers mark the
    /// worker offline at once.
    public static func workerOffline(_ common: Common, _ status: WorkerStatus) -> Event {
        worker("worker-offline", common, status)
    }

    /// A worker event of any type with the §6.3 fields: `freq`, `active`,
    /// `processed`, `loadavg`, `sw_ident`, `sw_ver`, `sw_sys`.
    public static func worker(_ type: String, _ common: Common, _ status: WorkerStatus) -> Event {
        var b = Builder(type: type, common)
        b.add("freq", double: status.freq)
        b.add("active", int: status.active)
        b.add("processed", int: status.processed)
        b.add("loadavg", doubles: status.loadavg)
        b.add("sw_ident", status.swIdent)
        b.add("sw_ver", status.swVer)
        b.add("sw_sys", status.swSys)
        return b.finish()
    }

    /// `worker-elect-ack`: this node's answer to another's `worker-elect`
    /// (gossip elections, wire notes §7.2): the election's `id`.
    public static func workerElectAck(_ common: Common, id: String) -> Event {
        var b = Builder(type: "worker-elect-ack", common)
        b.add("id", id)
        return b.finish()
    }
}
