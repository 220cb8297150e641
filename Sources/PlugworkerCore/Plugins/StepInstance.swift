#if canImport(Glibc)
import Glibc
#endif
import CPlugworker

/// A running instance of a plugin bootstep: what `pw_step *` points at.
/// The blueprint drives it through create, start, stop and shutdown.
public final class StepInstance {
    public enum State: String, Sendable {
        case created
        case started
        case stopped
        case shutDown = "shut down"
    }

    public let definition: StepDefinition
    public private(set) var state: State = .created
    /// The plugin's private pointer (`step_data` / `step_set_data`).
    var data: UnsafeMutableRawPointer?
    let hostnameCString: UnsafeMutablePointer<CChar>
    var stateCString: UnsafePointer<CChar> { Self.stateNames[state]! }

    nonisolated(unsafe) static let stateNames: [State: UnsafePointer<CChar>] = {
        var names: [State: UnsafePointer<CChar>] = [:]
        for s in [State.created, .started, .stopped, .shutDown] { names[s] = UnsafePointer(strdup(s.rawValue)!) }
        return names
    }()

    public init(definition: StepDefinition, hostname: String) {
        self.definition = definition
        self.hostnameCString = strdup(hostname)
    }

    deinit { free(hostnameCString) }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer?) -> StepInstance? {
        guard let p else { return nil }
        return Unmanaged<StepInstance>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    /// Runs one of the step's callbacks, moving to `state` when it succeeds.
    /// Returns the plugin's status (0 = success; a missing callback succeeds).
    public func run(_ phase: State) -> Int32 {
        let def = definition.definition.pointee
        let callback: (@convention(c) (OpaquePointer?) -> Int32)?
        switch phase {
        case .created: callback = def.create
        case .started: callback = def.start
        case .stopped: callback = def.stop
        case .shutDown: callback = def.shutdown
        }
        let status = callback?(opaque) ?? 0
        if status == 0 { state = phase }
        return status
    }
}
