/// A command refused by the worker: its `text` becomes the reply payload
/// `{"error": text}` (spec §5.3). `ControlTarget` actions throw it, and the
/// CLI uses it for usage errors.
///
/// Python puts `repr(exception)` there for exceptions it did not expect
/// (`"ValueError('Autoscale not enabled')"`) and a plain sentence for
/// refusals it expected (`"unknown task"`); the constants follow suit.
public struct ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String

    public init(_ text: String) {
        self.text = text
    }

    public var description: String { text }

    /// `rate_limit` / `time_limit` for a task this worker does not have.
    public static let unknownTask = ControlError("unknown task")
    /// `autoscale` on a worker started without `--autoscale`.
    public static let autoscaleNotEnabled = ControlError("ValueError('Autoscale not enabled')")
    /// `pool_grow` while autoscaling is on (Python's wording).
    public static let growWithAutoscale = ControlError(
        "pool_grow is not supported with autoscale. Adjust autoscale range instead.")
    /// `pool_shrink` while autoscaling is on (Python's wording).
    public static let shrinkWithAutoscale = ControlError(
        "pool_shrink is not supported with autoscale. Adjust autoscale range instead.")
}
