import PlugworkerCore

/// What `/healthz` answers: whether the Hub loop, the broker connection and
/// the pool are alive, from state the master already has (no broker round
/// trip, no system call but the clock).
///
/// 200 with `"status":"ok"` when all three are alive, 503 with
/// `"status":"unavailable"` otherwise; the body always has every part:
///
///     {"status":"ok",
///      "hub":{"alive":true,"last_turn_seconds_ago":0.0},
///      "broker":{"alive":true,"state":"connected","reconnects":0},
///      "pool":{"alive":true,"processes":3,"ready":3,"busy":0,"concurrency":3}}
public struct HealthReport: Sendable, Equatable {
    /// The Hub is running and its last turn began this long ago. The
    /// endpoint is served by the Hub itself, so a stuck loop answers
    /// nothing at all; a long turn (a handler that blocked) shows here.
    public var hubRunning: Bool
    public var hubLastTurnAge: Double
    /// `connected`, `connecting` (never connected yet) or `reconnecting`.
    public var brokerState: String
    public var reconnects: Int
    /// Processes alive (ready or starting), ready, running a task, wanted.
    public var processes: Int
    public var readyProcesses: Int
    public var busyProcesses: Int
    public var concurrency: Int
    /// False when the pool stopped replacing processes (they crashed too
    /// often) or its zygote is gone.
    public var poolHealthy: Bool

    /// A turn older than this means the loop is stuck in a handler.
    public static let hubStallLimit = 10.0

    public init(hubRunning: Bool, hubLastTurnAge: Double, brokerState: String, reconnects: Int,
                processes: Int, readyProcesses: Int, busyProcesses: Int, concurrency: Int, poolHealthy: Bool) {
        self.hubRunning = hubRunning
        self.hubLastTurnAge = hubLastTurnAge
        self.brokerState = brokerState
        self.reconnects = reconnects
        self.processes = processes
        self.readyProcesses = readyProcesses
        self.busyProcesses = busyProcesses
        self.concurrency = concurrency
        self.poolHealthy = poolHealthy
    }

    public var hubAlive: Bool { hubRunning && hubLastTurnAge < Self.hubStallLimit }
    public var brokerAlive: Bool { brokerState == "connected" }
    /// At least one process can take tasks, and the pool still replaces
    /// the ones that die (a pool that is short of a process being replaced
    /// is alive; `ready` and `concurrency` tell how full it is).
    public var poolAlive: Bool { poolHealthy && readyProcesses > 0 }
    public var isHealthy: Bool { hubAlive && brokerAlive && poolAlive }

    /// 200 or 503.
    public var httpStatus: Int { isHealthy ? 200 : 503 }

    /// The JSON body (keys in a fixed order).
    public var json: JSON {
        let age = (hubLastTurnAge * 1000).rounded() / 1000
        return [
            "status": .string(isHealthy ? "ok" : "unavailable"),
            "hub": ["alive": .bool(hubAlive), "last_turn_seconds_ago": .double(age)],
            "broker": ["alive": .bool(brokerAlive), "state": .string(brokerState), "reconnects": .int(Int64(reconnects))],
            "pool": ["alive": .bool(poolAlive), "processes": .int(Int64(processes)), "ready": .int(Int64(readyProcesses)),
                     "busy": .int(Int64(busyProcesses)), "concurrency": .int(Int64(concurrency))],
        ]
    }
}
