import CPlugworker

/// A bootstep a plugin registered: its descriptor, read and checked once.
public struct StepDefinition: @unchecked Sendable {
    public enum Blueprint: String, Sendable {
        case worker
        case consumer
    }

    /// Unique step name, e.g. `audit.WorkerStep`.
    public var name: String
    public var blueprint: Blueprint
    /// Names of the steps this one starts after.
    public var requires: [String]
    /// Queues a consumer step declares and consumes.
    public var queues: [String]
    /// Where the descriptor came from.
    public var symbol: SymbolName
    /// The module that registered it.
    public var module: String
    /// The plugin's descriptor (static storage in the plugin).
    let definition: UnsafePointer<pw_step_def>

    /// Splits a comma-separated list, trimming spaces, dropping empties.
    static func list(_ text: UnsafePointer<CChar>?) -> [String] {
        guard let text else { return [] }
        return String(cString: text).split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }
}
