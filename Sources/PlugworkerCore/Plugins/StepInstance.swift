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

    /// Hands one raw message to a consumer step's `on_message`; returns its
    /// disposition (`PW_ACK`, `PW_REJECT`, `PW_REQUEUE`). A step without
    /// `on_message` acknowledges; an unknown answer rejects without requeue.
    public func deliver(body: [UInt8], contentType: String?, exchange: String, routingKey: String, queue: String,
                        headersJSON: String, redelivered: Bool) -> Int32 {
        guard let onMessage = definition.definition.pointee.on_message else { return Int32(PW_ACK.rawValue) }
        var status: Int32 = 0
        body.withUnsafeBufferPointer { b in
            withOptionalCStrings([contentType, exchange, routingKey, queue, headersJSON]) { c in
                var m = pw_message(size: UInt32(MemoryLayout<pw_message>.stride), body: b.baseAddress, body_size: b.count,
                                   content_type: c[0], exchange: c[1], routing_key: c[2], queue: c[3],
                                   headers_json: c[4], redelivered: redelivered)
                status = withUnsafePointer(to: &m) { onMessage(opaque, $0) }
            }
        }
        switch status {
        case Int32(PW_ACK.rawValue), Int32(PW_REJECT.rawValue), Int32(PW_REQUEUE.rawValue): return status
        default: return Int32(PW_REJECT.rawValue)
        }
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
